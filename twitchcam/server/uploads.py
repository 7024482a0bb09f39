"""Receiving an uploaded video: streamed to disk in chunks under a temporary name, refused early and cleanly.

The multipart body is parsed as it arrives (python-multipart's streaming parser), so memory does not grow
with the video and reading stops as soon as the size limit is passed. Everything beside the video is
bounded too: at most `MAX_FIELDS` small fields, `MAX_PART_HEADER_BYTES` of part headers, and the whole body
`max_bytes + MULTIPART_OVERHEAD_BYTES`. A body that stops arriving for `idle_timeout_s` is dropped, and a
client that disconnects is logged in one line. The uploaded file name is kept for display only (shortened,
keeping its extension); the bytes go to `<uploads>/<random>.part` (mode 0600), and only a checked extension
survives.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from twitchcam.run.batch.plan import VIDEO_EXTENSIONS
from twitchcam.server.files import private_dir
from twitchcam.server.settings import DEFAULT_UPLOAD_IDLE_S

FILE_FIELD = "file"
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers and small fields around the video
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 8  # form fields beside the video (the pages send at most six: mirrored, diary, label, note, protocol,
# recorded); the limit stays at 8, as before those fields
MAX_PART_HEADER_BYTES = 32 * 1024  # a part's headers: room for a file name of a few thousand characters
MAX_NAME_CHARS = 200
MAX_EXT_CHARS = 8
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})  # disk full, quota, file size limit


class UploadRefused(Exception):
    """An upload the server will not analyse; `status` is the HTTP code, the message says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class UploadCutOff(UploadRefused):
    """The client went away (or stopped sending) before the upload was complete; nothing was kept."""


@dataclass
class Upload:
    """A video received in full at `path` (a temporary name), with what the form said about it."""

    path: Path
    name: str
    ext: str
    size_bytes: int
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def display_name(raw: str) -> str:
    """The last component of a client-side file name, without control characters; for display only."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > MAX_NAME_CHARS:  # cut before the extension, which says what the file is
        ext = PurePosixPath(name).suffix
        ext = ext if len(ext) <= MAX_EXT_CHARS else ""
        name = name[:MAX_NAME_CHARS - len(ext) - 1].rstrip() + "…" + ext
    return name or "video"


def video_extension(name: str) -> str:
    """The lower-case extension of `name` when it is a video type twitchcam reads, else `UploadRefused`."""
    ext = PurePosixPath(name).suffix.lower()
    if ext not in VIDEO_EXTENSIONS:
        known = ", ".join(sorted(e.lstrip(".") for e in VIDEO_EXTENSIONS))
        raise UploadRefused(422, f"{name!r} is not a video file twitchcam reads (it reads {known})")
    return ext


class _Receiver:
    """Callbacks of the streaming multipart parser: the file part goes to disk, small fields to memory."""

    def __init__(self, uploads_dir: Path, max_bytes: int):
        self.uploads_dir, self.max_bytes = uploads_dir, max_bytes
        self.upload: Upload | None = None
        self.fields: dict[str, str] = {}
        self.n_fields = 0
        self._headers: dict[bytes, bytes] = {}
        self._header = [b"", b""]
        self._field: str | None = None
        self._value = bytearray()
        self._file = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers, self._header, self._field, self._value = {}, [b"", b""], None, bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header[0].strip().lower()] = self._header[1].strip()
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name != FILE_FIELD:
            if b"filename" in params:
                raise UploadRefused(400, f"a file came in the form field {name[:40]!r}: send the video in the "
                                         f"field {FILE_FIELD!r}")
            self.n_fields += 1
            if self.n_fields > MAX_FIELDS:
                raise UploadRefused(400, f"too many form fields: send the video in {FILE_FIELD!r} with at most "
                                         f"{MAX_FIELDS} small fields beside it")
            self._field = name
            return
        if self.upload is not None:
            raise UploadRefused(400, "send one video per upload")
        shown = display_name(params.get(b"filename", b"").decode("utf-8", "replace"))
        ext = video_extension(shown)
        private_dir(self.uploads_dir)
        path = self.uploads_dir / f"{secrets.token_hex(12)}.part"
        self._file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb")
        self.upload = Upload(path=path, name=shown, ext=ext, size_bytes=0, fields=self.fields)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is None:
            if len(self._value) + end - start > MAX_FIELD_BYTES:
                raise UploadRefused(400, f"form field {self._field[:40]!r} is longer than {MAX_FIELD_BYTES} bytes")
            self._value += data[start:end]
            return
        self.upload.size_bytes += end - start
        if self.upload.size_bytes > self.max_bytes:
            raise UploadRefused(413, f"the video is larger than the {_megabytes(self.max_bytes)} this server accepts")
        self._file.write(data[start:end])

    def _part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        elif self._field:
            self.fields[self._field] = self._value.decode("utf-8", "replace")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def _chunks(request, idle_timeout_s: float, max_bytes: int):
    """The body of `request` as it arrives; `UploadCutOff` when nothing comes for `idle_timeout_s` seconds
    or the client disconnects, `UploadRefused` (413) when the body is larger than a video of `max_bytes`
    and its form around it."""
    limit = max_bytes + MULTIPART_OVERHEAD_BYTES
    stream = request.stream().__aiter__()
    received = 0
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_timeout_s)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise UploadCutOff(408, f"the upload stalled: nothing arrived for {idle_timeout_s:g} s "
                                    f"(after {received} bytes)") from None
        except ClientDisconnect:
            raise UploadCutOff(400, f"the client disconnected after sending {received} bytes") from None
        received += len(chunk)
        if received > limit:
            raise UploadRefused(413, f"the upload is larger than the {_megabytes(max_bytes)} this server accepts")
        yield chunk


async def receive_upload(request, uploads_dir: Path, max_bytes: int,
                         idle_timeout_s: float = DEFAULT_UPLOAD_IDLE_S) -> Upload:
    """Stream the multipart body of `request` to disk; raises `UploadRefused` and leaves nothing behind."""
    mime, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise UploadRefused(400, f"send the video as multipart/form-data in the field {FILE_FIELD!r}")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise UploadRefused(413, f"the video is larger than the {_megabytes(max_bytes)} this server accepts")
    receiver = _Receiver(uploads_dir, max_bytes)
    try:
        parser = MultipartParser(boundary, receiver.callbacks(), max_header_size=MAX_PART_HEADER_BYTES)
        async for chunk in _chunks(request, idle_timeout_s, max_bytes):
            parser.write(chunk)
        parser.finalize()
        receiver.close()
        if receiver.upload is None:
            raise UploadRefused(400, f"no video in the upload (the form field {FILE_FIELD!r} is missing)")
        if receiver.upload.size_bytes == 0:
            raise UploadRefused(400, f"{receiver.upload.name!r} is empty (0 bytes)")
        return receiver.upload
    except (UploadRefused, ValueError, MultipartParseError) as err:
        _discard(receiver)
        if isinstance(err, UploadRefused):
            raise
        if "header size" in str(err).lower():
            raise UploadRefused(400, f"the form's part headers are too long (over {MAX_PART_HEADER_BYTES // 1024} "
                                     "KB): shorten the file name") from err
        raise UploadRefused(400, f"the upload could not be read: {err}") from err
    except OSError as err:
        _discard(receiver)
        if err.errno in _NO_SPACE:
            raise UploadRefused(507, f"the server has no room to store the video: {err.strerror}") from err
        raise
    except BaseException:  # a dropped connection: leave nothing behind
        _discard(receiver)
        raise


def _discard(receiver: _Receiver) -> None:
    receiver.close()
    if receiver.upload is not None:
        receiver.upload.discard()


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def check_video(upload: Upload) -> int:
    """Open the upload with twitchcam's reader (blocking); returns the frame count or raises `UploadRefused`."""
    from twitchcam.core.errors import TwitchcamError
    from twitchcam.media.video import VideoReader

    try:
        with VideoReader(upload.path) as reader:
            count = reader.info.frame_count
    except TwitchcamError as err:
        message = str(err).replace(str(upload.path), repr(upload.name))
        raise UploadRefused(422, f"not a video twitchcam can read: {message}") from err
    return count or count_frames(upload.path)


def count_frames(path: Path) -> int:
    """The video frames in `path` counted from its packets (no decoding: ~1 ms a second of video); 0 when
    that fails. For the progress bar of files whose container names no frame count: the WebM a browser's
    MediaRecorder writes has neither a duration nor a frame count."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return sum(1 for packet in container.demux(stream) if packet.size)
    except (av.FFmpegError, IndexError, OSError):
        return 0
