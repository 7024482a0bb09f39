"""Which files a batch analyses, in which order, and where each one's results go."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from twitchcam.core.parameters import DetectionParameters

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm"})


@dataclass(frozen=True)
class BatchOptions:
    """How every video of a batch is analysed; sent to every worker."""

    mirrored: bool = False
    model: str | None = None
    """Model file the workers load (None: each worker finds its own, as `analyze` does)."""
    model_sha256: str = ""
    """The model the batch expects; a finished video analysed with another model is redone on --resume."""
    report: bool = False
    params: DetectionParameters = field(default_factory=DetectionParameters)
    """The parameters (`--param`); a finished video analysed with other parameters is redone on --resume."""


@dataclass(frozen=True)
class BatchItem:
    """One video to analyse: where it is, where its results go, and the file's identity for --resume."""

    source: str
    """Absolute path of the video (workers on other machines must see the same path)."""
    rel: str
    """Path relative to DIR with '/' separators: the summary row's `path`."""
    out_dir: str
    """Absolute path of the video's results folder."""
    size: int
    mtime_ns: int


def find_videos(root: str | os.PathLike, *, pattern: str | None = None,
                exclude: Sequence[str | os.PathLike] = ()) -> list[Path]:
    """Video files under `root`, recursively, sorted by their path relative to `root`.

    A file counts when its extension is a known video extension (any case), or, with `pattern`, when its
    path relative to `root` matches the glob from the right (`PurePath.match`: `*.MOV`, `2024-*/*.mp4`).
    Hidden files and folders (name starting with '.') and the folders in `exclude` are skipped; symbolic
    links to files are followed, links to folders are not (no cycles).
    """
    root = Path(root)
    skip = {os.path.realpath(p) for p in exclude}
    found: list[tuple[str, Path]] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames
                       if not d.startswith(".") and os.path.realpath(os.path.join(folder, d)) not in skip]
        for name in filenames:
            if name.startswith("."):
                continue
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            wanted = PurePosixPath(rel).match(pattern) if pattern else path.suffix.lower() in VIDEO_EXTENSIONS
            if wanted and path.is_file():
                found.append((rel, path))
    return [path for _, path in sorted(found)]


def plan(root: str | os.PathLike, out: str | os.PathLike, videos: Sequence[Path]) -> list[BatchItem]:
    """One item per video (same order); results go to OUT/<relative path without extension>/.

    Videos that differ only by extension (`a.mp4`, `a.mov`) would share a folder: they keep their
    extension in the folder name instead (`a.mp4/`, `a.mov/`).
    """
    root, out = Path(root).absolute(), Path(out).absolute()
    rels = [Path(v).absolute().relative_to(root).as_posix() for v in videos]
    targets = [_strip_suffix(rel) for rel in rels]
    shared = {t for t in targets if targets.count(t) > 1}
    items = []
    for rel, target in zip(rels, targets):
        stat = os.stat(root / rel)
        folder = out / (rel if target in shared else target)
        items.append(BatchItem(source=str(root / rel), rel=rel, out_dir=str(folder), size=stat.st_size,
                               mtime_ns=stat.st_mtime_ns))
    return items


def _strip_suffix(rel: str) -> str:
    path = PurePosixPath(rel)
    return str(path.with_suffix("")) if path.suffix else rel


def frame_count(path: str | os.PathLike) -> int:
    """The frame count the container announces (0 when unknown or unreadable): cheap, no decoding."""
    from twitchcam.media.video import cv2  # twitchcam.media.video quietens the decoder's log first

    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT) if capture.isOpened() else 0.0
    finally:
        capture.release()
    return int(count) if count == count and count > 0 else 0
