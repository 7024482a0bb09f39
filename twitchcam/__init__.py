"""twitchcam: objective counts of one-sided facial spasms (hemifacial spasm) from face video.

`twitchcam.analyze(path)` returns an `Analysis` with `.events`, `.frames` (DataFrames) and `.summary`.
Heavy modules (OpenCV, MediaPipe) load only when `analyze` is first used.
"""

from __future__ import annotations

import os as _os

# OpenCV reads these when it is first imported, by whichever twitchcam module that is. Decoder chatter
# ("moov atom not found", per-packet errors) would break the one-line error contract: twitchcam reports
# unreadable input itself. Users can still override both.
_os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

__version__ = "0.1.0"


def analyze(video, **options):
    """Analyse a face video; see `twitchcam.run.pipeline.analyze` for the options."""
    from twitchcam.run.pipeline import analyze as _analyze

    return _analyze(video, **options)


__all__ = ["analyze", "__version__"]
