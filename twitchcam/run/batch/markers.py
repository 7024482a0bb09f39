"""Completion markers, atomic small files, and the leftovers of interrupted runs.

A video's results are complete when its folder holds `.complete`, written atomically after `analyze` has
moved its files into place (and after the report, when asked). It records what the results were made
from, so that --resume redoes a video whose file, mirroring or model has changed since.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from twitchcam import __version__
from twitchcam.core.errors import UsageError
from twitchcam.store.results import replace_file

MARKER_FILE = ".complete"
LOCK_FILE = ".twitchcam-batch.lock"

# analyze's staging folders (results.write_outputs) and replace_file's temporary files (`.report.html.partial-…`,
# `.complete.partial-…`, written beside finished results); `.….tmp` files of earlier versions.
_STALE_DIR = re.compile(r"^\..+\.partial-")
_STALE_FILE = re.compile(r"^\.(batch_summary\.csv|\.complete)\..+\.tmp$|^\..+\.partial-")


def marker_record(rel: str, size: int, mtime_ns: int, *, mirrored: bool, model_sha256: str, report: bool,
                  seconds_taken: float) -> dict:
    """What a marker says: the source file's identity and how it was analysed."""
    return {"source": rel, "size": size, "mtime_ns": mtime_ns, "mirrored": mirrored, "model_sha256": model_sha256,
            "report": report, "twitchcam_version": __version__, "seconds_taken": seconds_taken}


def write_marker(folder: Path, record: dict) -> None:
    replace_file(folder / MARKER_FILE, (json.dumps(record, indent=2) + "\n").encode())


def read_marker(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def sweep_stale(out: Path, *, keep: Sequence[Path] = ()) -> int:
    """Remove the staging folders and temporary files an interrupted run left in `out`; returns how many.

    Only safe while no batch is writing to `out` (see `exclusive`). Folders in `keep` are not entered.
    """
    keep_real = {os.path.realpath(p) for p in keep}
    removed = 0
    for folder, dirnames, filenames in os.walk(out):
        for name in list(dirnames):
            path = os.path.join(folder, name)
            if os.path.realpath(path) in keep_real:
                dirnames.remove(name)
            elif _STALE_DIR.match(name):
                shutil.rmtree(path, ignore_errors=True)
                dirnames.remove(name)
                removed += 1
        for name in filenames:
            if _STALE_FILE.match(name):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


@contextlib.contextmanager
def exclusive(out: Path) -> Iterator[None]:
    """Refuse to run two batches into one OUT at once; the lock dies with its process, even by SIGKILL."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here
        yield
        return
    with open(out / LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            raise UsageError(f"another twitchcam batch is writing to {out}") from err
        yield
