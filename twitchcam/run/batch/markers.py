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
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from twitchcam import __version__
from twitchcam.core.errors import UsageError

MARKER_FILE = ".complete"
LOCK_FILE = ".twitchcam-batch.lock"

# analyze's staging folders (results.write_outputs); write_atomic's temporary files, and the report's
# (`.report.html.partial-…`, `.timeline.png.partial-…`, written beside finished results).
_STALE_DIR = re.compile(r"^\..+\.partial-")
_STALE_FILE = re.compile(r"^\.(batch_summary\.csv|\.complete)\..+\.tmp$|^\..+\.partial-")


def marker_record(rel: str, size: int, mtime_ns: int, *, mirrored: bool, model_sha256: str, report: bool,
                  seconds_taken: float) -> dict:
    """What a marker says: the source file's identity and how it was analysed."""
    return {"source": rel, "size": size, "mtime_ns": mtime_ns, "mirrored": mirrored, "model_sha256": model_sha256,
            "report": report, "twitchcam_version": __version__, "seconds_taken": seconds_taken}


def write_marker(folder: Path, record: dict) -> None:
    write_atomic(folder / MARKER_FILE, json.dumps(record, indent=2) + "\n")


def read_marker(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; results are not
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_UMASK: list[int] = []


def _umask() -> int:
    if not _UMASK:  # reading the umask means setting it: do it once
        mask = os.umask(0)
        os.umask(mask)
        _UMASK.append(mask)
    return _UMASK[0]


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
