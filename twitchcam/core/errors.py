"""Named errors, each with the process exit code the command line reports for it."""

from __future__ import annotations


class TwitchcamError(Exception):
    """Base of every error twitchcam raises on purpose; the CLI prints its message as one line."""

    exit_code = 1


class UsageError(TwitchcamError):
    """Bad arguments, or an input path that does not exist."""

    exit_code = 2


class ModelNotFoundError(TwitchcamError):
    """No usable face_landmarker.task could be found or downloaded."""

    exit_code = 2


class ModelIntegrityError(ModelNotFoundError):
    """A model file whose sha256 is not the one twitchcam expects."""


class VideoOpenError(TwitchcamError):
    """The file is not a video OpenCV can decode (not a video, empty, or truncated before any frame)."""

    exit_code = 3


class CameraError(VideoOpenError):
    """No camera at that index, or it gives no frames (`twitchcam live`)."""


class NoFaceError(TwitchcamError):
    """The video decodes, but no face was found in any frame."""

    exit_code = 4


class OutputError(TwitchcamError):
    """The results could not be written (folder not writable, disk full)."""

    exit_code = 1


class VideosFailedError(TwitchcamError):
    """A batch finished, but some of its videos could not be analysed (see batch_summary.csv)."""

    exit_code = 5
