"""How long the report and the annotated video take next to the analysis, on a long clip.

    python benchmarks/report_speed.py [CLIP] [--minutes 10]

Without CLIP, builds a clip of about `--minutes` minutes under the system temp folder by concatenating the
shipped samples (never committed), then prints:

- analysis time (decoding, MediaPipe, signals, detection, writing; with the face-track recorder that
  `--report --annotate` adds, whose own share is printed too) and its speed relative to real time;
- report time (`write_report`, as `analyze --report` runs it) as a share of the analysis time (goal < 10%),
  and `report_folder` (as `twitchcam report OUTDIR` runs it, reading the files back);
- annotated-video time, and the real-time factor of analysis + annotated video (goal > 1).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def build_long_clip(path: Path, minutes: float) -> Path:
    """Concatenate samples/hfs_left.mp4 and normal_blinks.mp4 until the clip lasts `minutes`."""
    from twitchcam.media.video import VideoReader, cv2

    frames = []
    for source in (REPO / "samples" / "hfs_left.mp4", REPO / "samples" / "normal_blinks.mp4"):
        with VideoReader(source) as reader:
            frames += [frame.image for frame in reader]
    fps = 30.0
    height, width = frames[0].shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.mp4")
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for i in range(int(minutes * 60 * fps)):
        writer.write(frames[i % len(frames)])
    writer.release()
    partial.replace(path)
    return path


class TimedHook:
    """Wraps a frame hook and adds up the time spent in it."""

    def __init__(self, hook):
        self.hook, self.seconds = hook, 0.0

    def __call__(self, frame, observation):
        start = time.perf_counter()
        self.hook(frame, observation)
        self.seconds += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()

    from twitchcam.media.face_track import FaceTrackRecorder
    from twitchcam.media.landmarks import FaceLandmarker
    from twitchcam.media.model import resolve_model
    from twitchcam.render.annotate import annotate_analysis
    from twitchcam.render.report import report_folder, write_report
    from twitchcam.run.pipeline import analyze

    tmp = Path(tempfile.gettempdir()) / "twitchcam_bench"
    clip = args.clip or tmp / f"samples_{args.minutes:g}min.mp4"
    if not clip.exists():
        start = time.perf_counter()
        build_long_clip(clip, args.minutes)
        print(f"built {clip} in {time.perf_counter() - start:.1f} s")
    out = tmp / f"{clip.stem}_twitchcam"

    with FaceLandmarker(resolve_model().path) as landmarker, FaceTrackRecorder(outlines=True) as recorder:
        hook = TimedHook(recorder)
        start = time.perf_counter()
        result = analyze(clip, out=out, landmarker=landmarker, frame_hooks=[hook])
        analysis_s = time.perf_counter() - start
        duration = result.summary["duration_s"]
        with recorder.finish() as track:
            start = time.perf_counter()
            write_report(out, result, video=clip, track=track)
            report_s = time.perf_counter() - start
            start = time.perf_counter()
            annotate_analysis(clip, out, result, track)
            annotate_s = time.perf_counter() - start
    start = time.perf_counter()
    report_folder(out, video=clip)
    folder_report_s = time.perf_counter() - start

    s = result.summary
    print(f"clip: {clip.name}, {duration:.0f} s, {s['frames']} frames {s['width']}x{s['height']}, "
          f"{s['n_events']} events")
    print(f"analysis:          {analysis_s:8.1f} s  ({duration / analysis_s:.2f}x real time; face-track recorder "
          f"{hook.seconds:.1f} s of it)")
    print(f"report (analyze):  {report_s:8.1f} s  = {100 * report_s / analysis_s:.1f}% of the analysis (goal < 10%)")
    print(f"report (folder):   {folder_report_s:8.1f} s  = {100 * folder_report_s / analysis_s:.1f}% of the analysis")
    print(f"annotated video:   {annotate_s:8.1f} s  ({s['frames'] / annotate_s:.0f} frames/s)")
    total = analysis_s + annotate_s
    print(f"analysis + video:  {total:8.1f} s  = {duration / total:.2f}x real time (goal > 1)")


if __name__ == "__main__":
    main()
