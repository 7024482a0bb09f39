"""Progress bars of a batch on stderr: videos, and for local runs frames, each with an ETA."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping

from twitchcam.run.batch.rows import BatchRow


class Bars:
    """Progress over videos and (when `frame_counts` is given) frames; no-ops when `show` is False.

    `frame_counts`: the containers' frame counts of the videos to analyse, by path (0 when unknown); a
    finished video's real count replaces its entry. Methods may be called from several threads.
    """

    def __init__(self, show: bool, total_videos: int, done_videos: int,
                 frame_counts: Mapping[str, int] | None = None):
        self._videos = self._frames = None
        self._counts = dict(frame_counts or {})
        self._reported: dict[str, int] = {}
        self._failed = 0
        self._lock = threading.Lock()
        if not show:
            return
        from tqdm import tqdm

        self._videos = tqdm(total=total_videos, initial=done_videos, unit="video", desc="videos", file=sys.stderr,
                            position=0, dynamic_ncols=True, smoothing=0.1)
        if frame_counts is not None:
            self._frames = tqdm(total=sum(self._counts.values()), unit="frame", desc="frames", file=sys.stderr,
                                position=1, dynamic_ncols=True, smoothing=0.1)

    def __enter__(self) -> Bars:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def shows_frames(self) -> bool:
        return self._frames is not None

    def frames_done(self, rel: str, n: int) -> None:
        if self._frames is not None:
            with self._lock:
                self._reported[rel] = self._reported.get(rel, 0) + n
                self._frames.update(n)

    def video_restarted(self, rel: str) -> None:
        """The worker analysing `rel` died: its frames will be counted again."""
        if self._frames is not None:
            with self._lock:
                self._frames.update(-self._reported.pop(rel, 0))

    def video_done(self, row: BatchRow) -> None:
        if self._videos is None:
            return
        with self._lock:
            if self._frames is not None:
                self._counts[row.path] = row.frames if row.frames is not None else self._reported.get(row.path, 0)
                self._frames.total = sum(self._counts.values())
            self._failed += row.status == "failed"
            if self._failed:
                self._videos.set_postfix(failed=self._failed, refresh=False)
            self._videos.update(1)

    def close(self) -> None:
        for bar in (self._frames, self._videos):
            if bar is not None:
                bar.close()
