"""Throughput and memory of `twitchcam.analyze` against the landmark model's own floor, on a 1280x720 clip.

    python benchmarks/throughput.py [--runs 3] [--long-minutes 10] [--clips DIR] [--work DIR]

Builds, at run time and under /tmp (never committed), a real 60 s clip at 1280x720 from the face clips in
`../shared/clips` (each letterboxed to 1280x720, 5 s of each in turn, 30 fps), encoded as H.264 with PyAV's
libx264 when available (what phones and webcams write), else MPEG-4 part 2 with OpenCV. The 10-minute clip
repeats it (packets copied, times shifted; no re-encoding).

Then, alternately and each in a fresh process (so peak RSS is its own):
- **floor**: a bare loop of OpenCV decode + BGR→RGB + MediaPipe FaceLandmarker (`detect`, the options
  twitchcam uses: IMAGE mode, 2 faces, blendshapes and matrices) on every frame, serially;
- **analyze**: `twitchcam.analyze(clip, out=...)`, everything included (decode, model, signals, detection,
  writing events.csv, frames.csv and summary.json).
Both timings include opening the video and loading the model, not Python imports. Medians are reported,
with the machine's load average before each run (the CPU may be shared). Finally `analyze` once on the
10-minute clip, for peak memory against length.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CLIPS = REPO.parent / "shared" / "clips"
WIDTH, HEIGHT, FPS = 1280, 720, 30
CHUNK_S = 5


# ---------------------------------------------------------------------------------------------- the clips

def _letterbox(image, cv2, np):
    h, w = image.shape[:2]
    scale = min(WIDTH / w, HEIGHT / h)
    nw, nh = round(w * scale), round(h * scale)
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    x0, y0 = (WIDTH - nw) // 2, (HEIGHT - nh) // 2
    canvas[y0 : y0 + nh, x0 : x0 + nw] = resized
    return canvas


def _source_frames(clips_dir: Path, n_frames: int):
    """`n_frames` letterboxed frames: CHUNK_S seconds of each clip in turn, continuing where it stopped."""
    import cv2
    import numpy as np

    sources = sorted(clips_dir.rglob("*.mp4"))
    if not sources:
        raise SystemExit(f"no clips found under {clips_dir}")
    positions = dict.fromkeys(sources, 0)
    made = 0
    while made < n_frames:
        for source in sources:
            capture = cv2.VideoCapture(str(source))
            capture.set(cv2.CAP_PROP_POS_FRAMES, positions[source])
            taken = 0
            while taken < CHUNK_S * FPS and made < n_frames:
                ok, image = capture.read()
                if not ok:
                    break
                yield _letterbox(image, cv2, np)
                taken += 1
                made += 1
            # Continue where this chunk stopped next time round; from the start once the clip is used up.
            positions[source] = positions[source] + taken if taken == CHUNK_S * FPS else 0
            capture.release()
            if made >= n_frames:
                return


def _has_libx264() -> bool:
    try:
        import av

        av.codec.Codec("libx264", "w")
        return True
    except Exception:  # noqa: BLE001 - no PyAV, or PyAV without libx264
        return False


def build_clip(clips_dir: Path, path: Path, seconds: int) -> str:
    """Write the 1280x720 test clip; return a description of its encoding."""
    frames = _source_frames(clips_dir, seconds * FPS)
    if _has_libx264():
        import av

        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=FPS)
            stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
            stream.options = {"crf": "23", "preset": "veryfast"}
            for image in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return "H.264 (PyAV libx264, yuv420p, CRF 23, veryfast)"
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    for image in frames:
        writer.write(image)
    writer.release()
    return "MPEG-4 part 2 (OpenCV mp4v; PyAV with libx264 not available)"


def repeat_clip(source: Path, path: Path, times: int) -> None:
    """`source` played `times` times in a row, in one file."""
    import av  # a dependency of twitchcam (annotated.webm): the packets are copied, not re-encoded

    with av.open(str(source)) as src, av.open(str(path), "w") as dst:
        in_stream = src.streams.video[0]
        out_stream = dst.add_stream_from_template(in_stream)
        packets = [p for p in src.demux(in_stream) if p.dts is not None]
        span = max(p.pts + (p.duration or 0) for p in packets) - min(p.pts for p in packets)
        for i in range(times):
            for p in packets:  # shifted by one more span on each pass
                p.pts, p.dts = p.pts + (span if i else 0), p.dts + (span if i else 0)
                p.stream = out_stream
                dst.mux(p)


# ------------------------------------------------------------------------------- measurements (children)

def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_floor(clip: str, model: str) -> dict:
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    start = time.perf_counter()
    capture = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=model), running_mode=vision.RunningMode.IMAGE, num_faces=2,
        output_face_blendshapes=True, output_facial_transformation_matrixes=True,
    )
    frames = 0
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
            frames += 1
    capture.release()
    return {"frames": frames, "seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def measure_analyze(clip: str, model: str, out: str) -> dict:
    import mediapipe  # noqa: F401 - imported before the clock starts, as in the floor

    from twitchcam.run.pipeline import analyze

    start = time.perf_counter()
    result = analyze(clip, out=out, model=model)
    seconds = time.perf_counter() - start
    return {"frames": int(result.summary["frames"]), "duration_s": result.summary["duration_s"],
            "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def _run_child(kind: str, clip: Path, model: str, out: Path) -> dict:
    load = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, __file__, "--_child", kind, str(clip), model, str(out)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode:
        raise SystemExit(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["load_before"] = load
    result["load_after"] = os.getloadavg()[0]
    return result


# ------------------------------------------------------------------------------------------------ report

def _model_path() -> str:
    from twitchcam.media.model import resolve_model

    return str(resolve_model(None).path)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of floor and analyze (default 3)")
    parser.add_argument("--seconds", type=int, default=60, help="length of the test clip (default 60)")
    parser.add_argument("--long-minutes", type=int, default=10,
                        help="length of the long clip for memory vs length; 0 skips it (default 10)")
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS, help=f"source clips (default {DEFAULT_CLIPS})")
    parser.add_argument("--work", type=Path, default=None, help="folder for the clips and outputs (default: a "
                        "new temporary folder, removed at the end)")
    args = parser.parse_args(argv)

    model = _model_path()
    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="twitchcam-throughput-")
        work = Path(tmp.name)
    else:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    try:
        clip = work / f"clip_{args.seconds}s_{WIDTH}x{HEIGHT}.mp4"
        t0 = time.perf_counter()
        encoding = build_clip(args.clips, clip, args.seconds)
        print(f"built {clip} ({args.seconds} s, {WIDTH}x{HEIGHT}, {FPS} fps, {encoding}) in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)

        floor, analysed = [], []
        for i in range(args.runs):
            for kind, results in (("floor", floor), ("analyze", analysed)):
                r = _run_child(kind, clip, model, work / "out")
                results.append(r)
                print(f"run {i + 1} {kind:<7} {r['frames'] / r['seconds']:6.1f} fps  {r['seconds']:6.1f} s  "
                      f"peak RSS {r['peak_rss_mb']:5.0f} MB  load {r['load_before']:.2f}->{r['load_after']:.2f}",
                      flush=True)

        long_result = None
        if args.long_minutes:
            long_clip = work / f"clip_{args.long_minutes}min_{WIDTH}x{HEIGHT}.mp4"
            repeat_clip(clip, long_clip, args.long_minutes * 60 // args.seconds)
            long_result = _run_child("analyze", long_clip, model, work / "out_long")
            print(f"long    analyze {long_result['frames'] / long_result['seconds']:6.1f} fps  "
                  f"{long_result['seconds']:6.1f} s  peak RSS {long_result['peak_rss_mb']:5.0f} MB  load "
                  f"{long_result['load_before']:.2f}->{long_result['load_after']:.2f}", flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()

    def med(results, key):
        return statistics.median(key(r) for r in results)

    frames = floor[0]["frames"]
    video_s = analysed[0]["duration_s"]
    floor_fps, analyze_fps = med(floor, lambda r: r["frames"] / r["seconds"]), med(
        analysed, lambda r: r["frames"] / r["seconds"])
    pair_ratios = [(a["frames"] / a["seconds"]) / (f["frames"] / f["seconds"]) for f, a in zip(floor, analysed)]
    loads = [r["load_before"] for r in floor + analysed]
    short_rss = med(analysed, lambda r: r["peak_rss_mb"])

    print()
    print(f"twitchcam throughput, {date.today().isoformat()}: {os.cpu_count()} CPUs, "
          f"clip {WIDTH}x{HEIGHT} {video_s:.0f} s ({frames} frames), {encoding}; medians of {args.runs} "
          f"alternating runs; load average before runs {min(loads):.2f}-{max(loads):.2f}")
    print()
    print("| measure | floor (decode + landmarker) | twitchcam analyze |")
    print("|---|---|---|")
    print(f"| frames per second | {floor_fps:.1f} | {analyze_fps:.1f} |")
    print(f"| real-time factor (video s per wall s) | {floor_fps * video_s / frames:.2f}x | "
          f"{analyze_fps * video_s / frames:.2f}x |")
    print(f"| analyze / floor | | {analyze_fps / floor_fps:.2f} (per pair: "
          f"{', '.join(f'{r:.2f}' for r in pair_ratios)}) |")
    print(f"| peak RSS, {video_s / 60:.0f}-min clip | {med(floor, lambda r: r['peak_rss_mb']):.0f} MB | "
          f"{short_rss:.0f} MB |")
    if long_result is not None:
        print(f"| peak RSS, {args.long_minutes}-min clip | | {long_result['peak_rss_mb']:.0f} MB "
              f"({long_result['peak_rss_mb'] / short_rss:.2f}x the {video_s / 60:.0f}-min clip; "
              f"{long_result['frames'] / long_result['seconds']:.1f} fps) |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_child":
        kind, clip_arg, model_arg, out_arg = sys.argv[2:6]
        result = measure_floor(clip_arg, model_arg) if kind == "floor" else measure_analyze(clip_arg, model_arg,
                                                                                             out_arg)
        print(json.dumps(result))
    else:
        main(sys.argv[1:])
