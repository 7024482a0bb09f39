"""What every worker process of twitchcam shares, whether a batch's or the web page's: how it is started and
how it dies with the process that started it."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading

SPAWN = multiprocessing.get_context("spawn")
"""Workers are started with 'spawn': MediaPipe's threads do not survive fork."""


def die_with_parent(parent_pid: int) -> None:
    """Make sure a killed parent (even by SIGKILL) leaves no orphan worker still writing results.

    Linux: the kernel sends SIGKILL when the parent dies (PR_SET_PDEATHSIG); elsewhere a thread polls.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    else:
        def watch() -> None:
            while os.getppid() == parent_pid:
                threading.Event().wait(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="twitchcam-parent-watch", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
