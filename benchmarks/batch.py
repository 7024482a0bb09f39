"""How `twitchcam batch` scales with local worker processes: frames per second with 1 and 2 workers.

    python benchmarks/batch.py [--clips DIR] [--minutes M] [--workers 1 2 ...]

Builds a folder under /tmp of symbolic links to the clips in `../shared/clips` (repeated until they hold
at least M minutes of video, 2 by default), then runs the whole batch once per worker count, each time into
a fresh OUT, and prints wall time, frames per second, the CPU time the workers used (cores busy on average,
and per frame) and the speed-up over the first worker count. Timing includes starting the workers and
loading the model. "other load" is the cores other processes kept busy meanwhile: on a machine shared with
other work the speed-up means little unless it is ~0.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from twitchcam.media.video import VideoReader
from twitchcam.run.batch import find_videos, run_batch

REPO = Path(__file__).resolve().parent.parent
SHARED_CLIPS = REPO.parent / "shared" / "clips"


def build_folder(clips: Path, minutes: float, dest: Path) -> tuple[int, float]:
    """Link the clips into `dest/copy-N/...` until they hold `minutes` of video; returns (videos, seconds)."""
    sources = find_videos(clips)
    if not sources:
        raise SystemExit(f"no clips in {clips}")
    lengths = {}
    for path in sources:
        with VideoReader(path) as reader:
            info = reader.info
        lengths[path] = info.frame_count / info.fps
    total, copy = 0.0, 0
    while total < minutes * 60:
        copy += 1
        for path in sources:
            link = dest / f"copy-{copy}" / path.relative_to(clips)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path.resolve())
            total += lengths[path]
    return copy * len(sources), total


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float:
    """CPU seconds all processes of the machine have used since boot (Linux); NaN elsewhere."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=SHARED_CLIPS)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="twitchcam-batch-bench-"))
    try:
        videos, seconds = build_folder(args.clips, args.minutes, work / "videos")
        print(f"{videos} videos, {seconds / 60:.1f} min of video, {os.cpu_count()} cores; folder {work}")
        print(f"{'workers':>7} {'frames':>7} {'seconds':>8} {'fps':>7} {'cores busy':>10} {'CPU ms/frame':>12} "
              f"{'other load':>10} {'speed-up':>8}")
        baseline = None
        for workers in args.workers:
            out = work / f"out-{workers}"
            cpu0, busy0, start = children_cpu_s(), machine_busy_s(), time.perf_counter()
            result = run_batch(work / "videos", out, workers=workers)
            elapsed, cpu = time.perf_counter() - start, children_cpu_s() - cpu0
            other = (machine_busy_s() - busy0 - cpu) / elapsed  # cores used by everything else meanwhile
            failed = result.count("failed")
            if failed:
                raise SystemExit(f"{failed} videos failed; see {result.summary_path}")
            frames = int(result.table["frames"].sum())
            fps = frames / elapsed
            baseline = baseline or fps
            print(f"{workers:>7} {frames:>7} {elapsed:>8.1f} {fps:>7.1f} {cpu / elapsed:>10.2f} "
                  f"{1000 * cpu / frames:>12.1f} {max(other, 0):>10.2f} {fps / baseline:>7.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
