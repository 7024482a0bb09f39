"""Detection accuracy on real faces with injected spasms (twitchcam's own ground truth).

    python benchmarks/accuracy.py [--work DIR] [--rebuild]

Builds a fixed test set from ../shared/clips/normal (never committed): every clip clean (its truth is
empty), plus one injected variant per amplitude band with fixed seeds, written losslessly (FFV1) so that
frames outside the spasms are exactly the original ones. Then analyses everything and prints one table:
recall per amplitude band and kind, overall precision / recall / F1 / side accuracy / median onset
error on the injected clips, and false positives per minute on the clean clips.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from twitchcam.evaluate import evaluate_dataset
from twitchcam.landmarks import FaceLandmarker
from twitchcam.model import resolve_model
from twitchcam.synth import inject
from twitchcam.video import VideoReader

REPO = Path(__file__).resolve().parent.parent
CLIPS = REPO.parent / "shared" / "clips" / "normal"
# Eyelid closure at the peak, as a fraction of the aperture; the product's targets are set per band.
BANDS = {"small": (0.15, 0.35), "moderate": (0.35, 0.6), "large": (0.6, 1.0)}
SECONDS_PER_SPASM = 3.5


def build(work: Path, rebuild: bool) -> None:
    """Clean copies and injected variants of every normal clip, with their truth files."""
    if rebuild and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    with FaceLandmarker(resolve_model().path) as landmarker:
        for index, clip in enumerate(sorted(CLIPS.glob("*.mp4"))):
            clean = work / clip.name
            if not clean.exists():
                clean.symlink_to(clip.resolve())
                clean.with_name(f"{clip.stem}.truth.csv").write_text("start_s,end_s,side,regions,kind,amplitude\n")
            with VideoReader(clip) as reader:
                duration = reader.info.frame_count / reader.info.fps
            for band_index, (band, amplitude) in enumerate(BANDS.items()):
                out = work / f"{clip.stem}__{band}.mkv"
                if out.exists():
                    continue
                events = max(1, int((duration - 2.0) / SECONDS_PER_SPASM))
                inject(clip, out, out.with_name(f"{out.stem}.truth.csv"), seed=100 * band_index + index,
                       events=events, amplitude=amplitude, landmarker=landmarker)


def report(work: Path) -> dict:
    per_clip, _, details = evaluate_dataset(work)
    truth = pd.concat([t.assign(clip=name) for name, t in details.items() if len(t)], ignore_index=True)
    truth["band"] = pd.cut(truth["amplitude"], [0, 0.35, 0.6, 1.0], labels=list(BANDS), include_lowest=True)
    recall = truth.groupby(["band", "kind"], observed=True)["found"].agg(["mean", "size"])
    injected = per_clip[per_clip["n_truth"] > 0]
    clean = per_clip[per_clip["n_truth"] == 0]
    tp, fp, fn = (int(injected[c].sum()) for c in ("true_positives", "false_positives", "false_negatives"))
    matched = truth[truth["found"]]
    summary = {
        "precision_injected": tp / (tp + fp) if tp + fp else None,
        "recall_injected": tp / (tp + fn) if tp + fn else None,
        "f1_injected": 2 * tp / (2 * tp + fp + fn) if tp else None,
        "f1_moderate_or_larger": _f1(truth[truth["amplitude"] >= 0.35], injected, truth, per_clip),
        "side_accuracy": float((matched["found_side"] == matched["side"]).mean()) if len(matched) else None,
        "median_onset_error_ms": 1000 * float(matched["onset_error_s"].median()) if len(matched) else None,
        "false_positives_per_min_clean": 60 * float(clean["false_positives"].sum()) / float(clean["duration_s"].sum()),
        "clean_minutes": float(clean["duration_s"].sum()) / 60,
    }
    print("recall by amplitude band (eyelid closure at peak) and kind")
    print(recall.rename(columns={"mean": "recall", "size": "spasms"}).to_string(float_format="{:.2f}".format))
    print()
    for key, value in summary.items():
        print(f"{key:32} {value:.3f}" if isinstance(value, float) else f"{key:32} {value}")
    print()
    print(per_clip[["clip", "n_truth", "n_pred", "true_positives", "false_positives", "false_negatives"]]
          .to_string(index=False))
    return {"summary": summary, "recall": recall.reset_index().astype({"band": str}).to_dict(orient="records"),
            "clips": per_clip.to_dict(orient="records")}


def _f1(rows: pd.DataFrame, injected: pd.DataFrame, truth: pd.DataFrame, per_clip: pd.DataFrame) -> float | None:
    """F1 over the spasms of a band: its misses count as FN; every false positive on injected clips as FP."""
    if not len(rows):
        return None
    tp = int(rows["found"].sum())
    fn = len(rows) - tp
    fp = int(injected["false_positives"].sum())
    return 2 * tp / (2 * tp + fp + fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "twitchcam_accuracy")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the injected clips")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not CLIPS.is_dir():
        sys.exit(f"accuracy: {CLIPS} is missing")
    start = time.perf_counter()
    build(args.work, args.rebuild)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout
    print(f"twitchcam accuracy benchmark, commit {commit.strip()}, {time.strftime('%Y-%m-%d')}\n")
    result = report(args.work)
    print(f"\n({time.perf_counter() - start:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
