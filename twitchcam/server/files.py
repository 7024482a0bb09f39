"""The server's files on disk: private to the user, never reached through a symlink, free of server paths.

- Everything under --data is the user's alone (folders 0700, files 0600) whatever the umask: `serve` sets
  the umask to 077, and `make_private` fixes what an older version or another umask left behind.
- A result is served only when the job folder, its results folder and the file itself are real (no symlink
  anywhere below --data/jobs), so a link planted in a job's results cannot hand out other files.
- Files handed out name no server path: the staging folder the report was written in, the job folder (whose
  name is the job id, the only secret of a server without --token) are replaced by a plain label.
"""

from __future__ import annotations

import html
import os
import re
import stat
from pathlib import Path

PRIVATE_DIR_MODE, PRIVATE_FILE_MODE = 0o700, 0o600
SERVED_LABEL = "this job's results on the twitchcam web page"
TEXT_SUFFIXES = frozenset({".html", ".json"})  # the CSVs hold numbers and event labels only


def private_dir(path: Path) -> Path:
    """`path` as a folder only this user can read (0700), whatever the umask."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def make_private(root: Path) -> None:
    """chmod `root` and everything below it to 0700 (folders) and 0600 (files); symlinks are left as they are."""
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, PRIVATE_DIR_MODE)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, PRIVATE_FILE_MODE)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]


def real_file(base: Path, *parts: str) -> Path | None:
    """`base/parts…` when each part is a real folder and the last a regular file (no symlinks); else None."""
    path = base
    for i, part in enumerate(parts):
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None
        wanted = stat.S_ISREG if i == len(parts) - 1 else stat.S_ISDIR
        if not wanted(mode):  # a symlink is neither: lstat does not follow it
            return None
    return path


def remove_server_paths(folder: Path, job_dir: Path, label: str = SERVED_LABEL) -> None:
    """Replace every path under `job_dir` in the text files of `folder` by `label` (in place)."""
    roots = {str(job_dir), str(job_dir.resolve())}
    forms = sorted({form for root in roots for form in (root, html.escape(root))}, key=len, reverse=True)
    rest = r"(?:/[^\s<>\"'`,;)]*[^\s<>\"'`,;).])?"  # the path's tail, without a full stop after it
    pattern = re.compile("(?:" + "|".join(map(re.escape, forms)) + ")" + rest)
    for path in folder.iterdir():
        if path.suffix not in TEXT_SUFFIXES or path.is_symlink() or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        cleaned = pattern.sub(label, text)
        if cleaned != text:
            path.write_text(cleaned, encoding="utf-8", errors="surrogateescape")
