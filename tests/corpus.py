"""A corpus of bad, odd and extreme inputs, built at test time from samples/hfs_left.mp4 and synthetic frames.

Nothing here is committed but this code: every case is written into a temporary folder by its builder
(OpenCV for decoding the sample, PyAV, i.e. FFmpeg's libraries, for encoding and muxing). `build_corpus`
builds them all; `CASES` maps each case's name to its builder, which takes the folder and returns the path
it wrote. The expected outcome of each case is the tests' business (tests/test_robustness.py), not this
module's.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "hfs_left.mp4"
FPS = 30
CLIP_FRAMES = 60  # 2 s at 30 fps: long enough for the detector, short enough for 25 MediaPipe runs


def face_frames(count: int = CLIP_FRAMES, size: tuple[int, int] | None = None, step: int = 1) -> list[np.ndarray]:
    """Every `step`-th of the sample's first `count` frames (one face, 480x480, BGR), resized to `size` (w, h).

    Decoded afresh each time (~0.3 ms a frame): the sample's 720 frames would hold 500 MB.
    """
    capture = cv2.VideoCapture(str(SAMPLE))
    frames = []
    try:
        for i in range(count):
            ok, image = capture.read()
            if not ok:
                raise RuntimeError(f"{SAMPLE} has only {i} frames, {count} wanted")
            if i % step == 0:
                frames.append(image if size is None else cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    finally:
        capture.release()
    return frames


def write_video(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    fps: float = FPS,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode BGR frames with PyAV. `pts` (in `time_base` units) gives each frame its own time stamp."""
    if options is None and codec == "libx264":
        options = {"preset": "ultrafast", "crf": "20", "bf": "0"}
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000), options=options or {})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if time_base is not None:
            stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            if pts is not None:
                frame.pts, frame.time_base = int(pts[i]), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def remux(source: Path, path: Path, options: dict[str, str] | None = None) -> Path:
    """The same encoded frames in another container (by `path`'s extension), without decoding them."""
    with av.open(str(source)) as inp, av.open(str(path), "w", options=options or {}) as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return path


def truncate(source: Path, path: Path, fraction: float) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


# ---- the cases -----------------------------------------------------------------------------------------------

def good_face(folder: Path, name: str = "good_face.mp4", frames: int = CLIP_FRAMES) -> Path:
    """The sample's first seconds re-encoded as H.264 in MP4 (index at the end, as cameras write it)."""
    return write_video(folder / name, face_frames(frames))


def empty(folder: Path) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def text_as_mp4(folder: Path) -> Path:
    path = folder / "text_as_mp4.mp4"
    path.write_text("These are my notes from the appointment, not a video.\n" * 40)
    return path


def png_as_mp4(folder: Path) -> Path:
    """A still photograph of the face (PNG bytes) under a video name."""
    path = folder / "png_as_mp4.mp4"
    ok, data = cv2.imencode(".png", face_frames(1)[0])
    assert ok
    path.write_bytes(data.tobytes())
    return path


def _truncated_mp4(fraction: float) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        source = good_face(folder, f".source_truncated_{int(fraction * 100)}.mp4")
        assert mp4_atoms(source.read_bytes())[-1][0] == b"moov", "the index is expected at the end"
        path = truncate(source, folder / f"truncated_{int(fraction * 100)}.mp4", fraction)
        source.unlink()
        return path

    build.__doc__ = f"An MP4 cut after {fraction:.0%} of its bytes: its index (moov, at the end) is lost."
    return build


def truncated_mkv_50(folder: Path) -> Path:
    """A Matroska file cut in the middle: the frames before the cut are still decodable."""
    source = write_video(folder / ".source_truncated.mkv", face_frames())
    path = truncate(source, folder / "truncated_mkv_50.mkv", 0.5)
    source.unlink()
    return path


def corrupt_middle(folder: Path) -> Path:
    """4 KB of random bytes written over the middle of an MP4 (mdat): damaged frames, intact index."""
    path = good_face(folder, "corrupt_middle.mp4")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = np.random.default_rng(9).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def zero_frames(folder: Path) -> Path:
    """A valid MP4 with a video track that holds no frame."""
    path = folder / "zero_frames.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()  # header and index, no packet
    return path


def tiny_1x1(folder: Path) -> Path:
    """One pixel per frame (lossless FFV1 in Matroska: H.264 needs even sizes)."""
    frames = [np.full((1, 1, 3), 40 + 4 * i, np.uint8) for i in range(30)]
    return write_video(folder / "tiny_1x1.mkv", frames, codec="ffv1", pix_fmt="bgr0")


def tiny_16x16(folder: Path) -> Path:
    return write_video(folder / "tiny_16x16.mp4", face_frames(30, size=(16, 16)))


def huge_4k(folder: Path) -> Path:
    """3840x2160, 8 frames: the face scaled up in the middle of a grey frame."""
    frames = []
    for image in face_frames(8):
        big = np.full((2160, 3840, 3), 120, np.uint8)
        big[:, 840:3000] = cv2.resize(image, (2160, 2160), interpolation=cv2.INTER_LINEAR)
        frames.append(big)
    return write_video(folder / "huge_4k.mp4", frames)


def audio_only(folder: Path) -> Path:
    """Two seconds of a 440 Hz tone in AAC, in an .mp4 (what a voice memo app may save)."""
    path = folder / "audio_only.mp4"
    rate = 44100
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        t = np.arange(2 * rate) / rate
        samples = (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def no_face(folder: Path) -> Path:
    """A textured wall: noise and gradients, no face."""
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (0, 0), 6)
    frames = [np.roll(base, 3 * i, axis=1) for i in range(45)]
    return write_video(folder / "no_face.mp4", frames)


def face_leaves(folder: Path) -> Path:
    """8 s: 2 s of face, 4 s of black frames (the face has left the frame), 2 s of face."""
    faces = face_frames(120)
    black = [np.zeros_like(faces[0])] * 120
    return write_video(folder / "face_leaves.mp4", faces[:60] + black + faces[60:])


def two_faces(folder: Path) -> Path:
    """Two faces side by side for 4 s: the sample on the left half, the same face mirrored and smaller on the
    right (so the sample's left-sided spasm at 2.6 s shows on the right side of the other face)."""
    frames = []
    for image in face_frames(120):
        canvas = np.full((480, 960, 3), 90, np.uint8)
        canvas[:, :480] = image
        small = cv2.resize(image[:, ::-1], (360, 360), interpolation=cv2.INTER_AREA)
        canvas[60:420, 540:900] = small
        frames.append(canvas)
    return write_video(folder / "two_faces.mp4", frames)


def very_dark(folder: Path) -> Path:
    """Pixel values scaled to 6%: a face in a dim room (mean brightness ~7 of 255)."""
    frames = [(image.astype(np.float32) * 0.06).astype(np.uint8) for image in face_frames()]
    return write_video(folder / "very_dark.mp4", frames)


def overexposed(folder: Path) -> Path:
    """Pixel values scaled by 3.5 and clipped: a face washed out by a window behind the camera."""
    frames = [np.clip(image.astype(np.float32) * 3.5, 0, 255).astype(np.uint8) for image in face_frames()]
    return write_video(folder / "overexposed.mp4", frames)


ROTATION_DEG = 90


def rotated_phone(folder: Path) -> Path:
    """A phone held upright: frames stored sideways (landscape sensor) with the MP4 display matrix saying
    "turn 90° clockwise to show", as phones record portrait video.

    Stored frames are 480 wide and 320 high with the top of the head pointing left; shown upright they are
    320 wide and 480 high.
    """
    frames = []
    for image in face_frames():
        upright = cv2.resize(image, (320, 480), interpolation=cv2.INTER_AREA)
        frames.append(cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE))
    # PyAV counts the display rotation counter-clockwise: -90 is 90° clockwise.
    return write_video(folder / "rotated_phone.mp4", frames, rotation=-ROTATION_DEG)


def vfr_pts() -> list[int]:
    """Frame times in ms of a phone's variable frame rate: steps of 20 to 60 ms in a fixed irregular pattern."""
    steps = [33, 20, 47, 33, 60, 25, 33, 40]
    return [int(x) for x in np.cumsum([0] + [steps[i % len(steps)] for i in range(CLIP_FRAMES - 1)])]


def variable_frame_rate(folder: Path) -> Path:
    return write_video(folder / "variable_frame_rate.mkv", face_frames(), pts=vfr_pts(), time_base=Fraction(1, 1000))


def repeated_pts() -> np.ndarray:
    """Every time stamp (ms) given twice: 0, 0, 66, 66, ..."""
    return 66 * (np.arange(CLIP_FRAMES) // 2)


def repeated_timestamps(folder: Path) -> Path:
    """Frames with repeated time stamps, as a buggy muxer writes them (Matroska accepts it)."""
    return write_video(folder / "repeated_timestamps.mkv", face_frames(), pts=repeated_pts(),
                       time_base=Fraction(1, 1000))


def zero_timestamps(folder: Path) -> Path:
    """Every frame stamped 0."""
    return write_video(folder / "zero_timestamps.mkv", face_frames(), pts=[0] * CLIP_FRAMES,
                       time_base=Fraction(1, 1000))


def fps_1(folder: Path) -> Path:
    """One frame per second for 10 s (a time-lapse or a webcam starved of light)."""
    return write_video(folder / "fps_1.mp4", face_frames(300, step=30), fps=1)


def fps_240(folder: Path) -> Path:
    """Slow-motion capture: 240 fps for 0.5 s."""
    return write_video(folder / "fps_240.mp4", face_frames(120), fps=240)


NON_ASCII_FOLDER = "my videos — ünïcödé 日本 ✓"


def odd_path(folder: Path) -> Path:
    """A clip in a folder whose name has spaces, a dash, accents, CJK and a symbol, and a name like it."""
    sub = folder / NON_ASCII_FOLDER
    sub.mkdir(exist_ok=True)
    return good_face(sub, "Visite à l'hôpital (2).mp4", frames=45)


CASES: dict[str, Callable[[Path], Path]] = {
    "empty": empty,
    "text_as_mp4": text_as_mp4,
    "png_as_mp4": png_as_mp4,
    "truncated_10": _truncated_mp4(0.10),
    "truncated_50": _truncated_mp4(0.50),
    "truncated_90": _truncated_mp4(0.90),
    "truncated_mkv_50": truncated_mkv_50,
    "corrupt_middle": corrupt_middle,
    "zero_frames": zero_frames,
    "tiny_1x1": tiny_1x1,
    "tiny_16x16": tiny_16x16,
    "huge_4k": huge_4k,
    "audio_only": audio_only,
    "no_face": no_face,
    "face_leaves": face_leaves,
    "two_faces": two_faces,
    "very_dark": very_dark,
    "overexposed": overexposed,
    "rotated_phone": rotated_phone,
    "variable_frame_rate": variable_frame_rate,
    "repeated_timestamps": repeated_timestamps,
    "zero_timestamps": zero_timestamps,
    "fps_1": fps_1,
    "fps_240": fps_240,
    "odd_path": odd_path,
}


def build_corpus(folder: Path, names: Sequence[str] | None = None) -> dict[str, Path]:
    """Build the named cases (all by default) into `folder`; returns each case's file."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: CASES[name](folder) for name in (names or CASES)}


# ---- long inputs ---------------------------------------------------------------------------------------------

def long_face_clip(path: Path, minutes: float, *, fps: float = 5, size: tuple[int, int] = (160, 160),
                   codec: str = "libx264") -> Path:
    """`minutes` of the sample's face, looped (forwards then backwards, so the loop has no jump), at `fps`.

    Cheap to encode: the sample's 720 frames are resized once and reused.
    """
    frames = face_frames(720, size=size)
    loop = frames + frames[::-1]
    total = int(round(minutes * 60 * fps))
    return write_video(path, [loop[i % len(loop)] for i in range(total)], fps=fps, codec=codec)


def mp4_atoms(data: bytes) -> list[tuple[bytes, int, int]]:
    """Top-level (type, offset, size) boxes of an MP4 file, for tests that need to know its layout."""
    atoms, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        size = size or len(data) - offset
        atoms.append((kind, offset, size))
        offset += size
    return atoms


def peak_rss_mb(pid: int) -> float:
    """A running process's peak resident memory so far (VmHWM) in MB; NaN without /proc."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
