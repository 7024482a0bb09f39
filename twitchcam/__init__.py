"""twitchcam: objective counts of one-sided facial spasms (hemifacial spasm) from face video.

`twitchcam.analyze(path)` returns an `Analysis` with `.events`, `.frames` (DataFrames) and `.summary`.
Heavy modules (OpenCV, MediaPipe) load only when `analyze` is first used.
"""

from __future__ import annotations

__version__ = "0.1.0"


def analyze(video, **options):
    """Analyse a face video; see `twitchcam.analyze.analyze` for the options."""
    from twitchcam.analyze import analyze as _analyze

    return _analyze(video, **options)


__all__ = ["analyze", "__version__"]
