"""A second, independent injected-spasm test set (a different warp from twitchcam's own synth/warp).

    python benchmarks/holdout_inject.py --out DIR [--clips DIR] [--seed N] [--only STEM ...] [--max-seconds S]
    python benchmarks/holdout_inject.py --check DIR [--clips DIR] [--check-clips N]

For every clip in --clips (default ../shared/clips/normal) it writes three variants, each a lossless FFV1
`<stem>__<variant>.mkv` with the source's frame times, and `<stem>__<variant>.truth.csv` beside it:

- `holdout_small`: upper lid over 15-35 % of the lid gap;
- `holdout_default`: 35-85 %; strong ones (>= 55 %) also raise the lower lid a little and bunch the cheek
  (regions `eye;cheek`);
- `holdout_lower`: cheek-only, mouth-only or cheek+mouth pulls (4-10 % of the inter-ocular distance), no eye.

One event per 3.5 s slot after a 2 s lead-in, all on one side per clip (chosen by the seed); clonic trains
or tonic contractions (holdout_lib/timing.py). Half the tonic ones are placed over one of the clip's own
blinks when the slot has one, the others kept blink-free. Landmarks come from MediaPipe on the ORIGINAL
frame; frames outside the truth intervals are the decoded originals, bit for bit (the contraction's
tails below 20 % of its peak are not drawn, so a frame is changed exactly when the truth says so).

Truth columns: start_s,end_s,side,regions,kind,amplitude,amplitude_unit. `amplitude_unit` is `aperture`
(fraction of the lid gap closed at the peak) for eye events, `iod` (peak displacement over the
inter-ocular distance, eye-centre to eye-centre) for cheek/mouth-only events. The interval is where the
contraction is above 20 % of its peak. `holdout_manifest.json` in DIR adds per-event details (peak time,
whether a tonic event overlaps a source blink, secondary magnitudes, the source's lid gaps at the peak).

The warp (holdout_lib/fields.py), built per frame from that frame's landmarks and applied with one
cv2.remap: in eye-aligned coordinates the upper-lid margin moves down by `amplitude` of the local lid gap,
the lid skin above it (lashes, crease, up to just past the brow) follows with a raised-cosine fall-off, and
the iris below the new margin stays put, so the lid slides over it (edge anti-aliased over one pixel);
strong events also lift the lower lid (up to 8 % of the gap) and bunch the cheek (3 % of the inter-ocular
distance). Cheek raise and mouth-corner pull are Gaussian displacement fields, up and outward, centred on
the malar pad (between mesh points 50/117, 280/346) and on the mouth corner (61, 291), inverted exactly;
the cheek field is faded to zero around the eye. The mesh follows cheek-skin motion weakly (its cheek
points move ~8 % of the injected displacement): cheek-only events test skin-motion channels more than
landmarks. Times are the source's pts; Matroska keeps them to the millisecond.

--check runs MediaPipe on a few injected eye clips and prints each eye's lid gap (159-145, 386-374, over
the inter-ocular distance) at the event peaks against rest, to show the warp reaches the landmark model
on the right side, and for cheek/mouth clips the mesh's shift of the mouth corner and cheek point.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
import zlib
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from holdout_lib.anatomy import INDICES, SIDES, eye_centre, face_axes, inter_ocular, lid_gap
from holdout_lib.fields import EyelidSlide, RadialPull, render
from holdout_lib.media import FFV1Writer, source_timing
from holdout_lib.timing import Spasm, blink_intervals, plan_times

from twitchcam.media.landmarks import FaceLandmarker
from twitchcam.media.model import resolve_model
from twitchcam.media.video import VideoReader

REPO = Path(__file__).resolve().parent.parent
CLIPS = REPO.parent / "shared" / "clips" / "normal"
TRUTH_COLUMNS = ("start_s", "end_s", "side", "regions", "kind", "amplitude", "amplitude_unit")
VARIANTS: dict[str, tuple[str, tuple[float, float]]] = {
    "holdout_small": ("eye", (0.15, 0.35)),
    "holdout_default": ("eye", (0.35, 0.85)),
    "holdout_lower": ("lower", (0.04, 0.10)),
}
MANIFEST = "holdout_manifest.json"


@dataclass
class Track:
    """A clip's frames as the source decodes them: times, pts and MediaPipe landmarks of the original frames.

    `times`: (n,) s; `pts`: (n,) in `time_base`; `landmarks[i]`: (478, 3) pixels or None; `gaps`: (n, 2)
    lid gap over inter-ocular distance, columns (right, left), NaN without a face.
    """

    path: Path
    times: np.ndarray
    pts: np.ndarray
    time_base: Fraction
    rate: Fraction
    width: int
    height: int
    landmarks: list[np.ndarray | None]
    gaps: np.ndarray


def track_clip(path: Path, landmarker: FaceLandmarker, max_s: float | None = None) -> Track:
    """Decode `path` once (twitchcam's VideoReader) and run MediaPipe on every original frame."""
    pts, time_base, rate = source_timing(path)
    landmarker.reset()
    times, marks, gaps = [], [], []
    with VideoReader(path) as reader:
        width, height = reader.info.width, reader.info.height
        for frame in reader:
            if max_s is not None and frame.t_s > max_s:
                break
            obs = landmarker.observe(frame.index, frame.t_s, frame.image)
            times.append(frame.t_s)
            marks.append(obs.landmarks if obs.face else None)
            gaps.append([lid_gap(obs.landmarks, s) for s in SIDES] if obs.face else [np.nan, np.nan])
    n = len(times)
    if len(pts) >= n:
        pts = pts[:n]
    else:  # the container lists fewer frames than were decoded: use the decoder's times, in milliseconds
        time_base = Fraction(1, 1000)
        pts = np.rint(np.asarray(times) * 1000).astype(np.int64)
    return Track(path, np.asarray(times), pts, time_base, rate, width, height, marks, np.asarray(gaps))


def _rng(seed: int, stem: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(stem.encode()), *more])


def clip_side(seed: int, stem: str) -> str:
    """The clip's one affected side, fixed by the seed and the clip's name."""
    return SIDES[int(_rng(seed, stem).integers(0, 2))]


def make_events(track: Track, variant: str, *, seed: int, side: str | None = None) -> list[Spasm]:
    """The variant's events for this clip (deterministic in seed, clip name and variant)."""
    stem = track.path.stem
    side = side or clip_side(seed, stem)
    family, (lo, hi) = VARIANTS[variant]
    rng = _rng(seed, stem, list(VARIANTS).index(variant) + 1)
    duration = float(track.times[-1] + (track.times[1] - track.times[0] if len(track.times) > 1 else 0.04))
    usable = np.array([m is not None for m in track.landmarks])
    blinks = blink_intervals(track.times, track.gaps)
    events = []
    for plan in plan_times(rng, duration_s=duration, blinks=blinks, usable=usable, times=track.times):
        amp = float(rng.uniform(lo, hi))
        extras: dict = {"blink_wanted": plan.pop("blink_wanted")}
        if family == "eye":
            regions, unit = ["eye"], "aperture"
            if amp >= 0.55:
                extras["lower_rise"] = round(0.2 * (amp - 0.45), 4)  # lower lid: up to 8 % of the gap
                extras["cheek"] = round(0.03 * amp, 4)  # cheek bunching, fraction of the inter-ocular distance
                regions.append("cheek")
        else:
            regions, unit = [["cheek"], ["mouth"], ["cheek", "mouth"]][int(rng.integers(0, 3))], "iod"
            for region in regions:
                extras[region] = round(amp if region == "mouth" or len(regions) == 1 else 0.8 * amp, 4)
        order = [r for r in ("eye", "cheek", "mouth") if r in regions]
        events.append(Spasm(side=side, regions=tuple(order), amplitude=round(amp, 3), amplitude_unit=unit,
                            extras=extras, **plan))
    return events


def frame_warps(event: Spasm, level: float, landmarks: np.ndarray) -> tuple[EyelidSlide | None, list[RadialPull]]:
    """The warps of `event` at activation `level` (0-1) on a frame with these (original) landmarks."""
    side, extras = event.side, event.extras
    iod = inter_ocular(landmarks)
    up, out = face_axes(landmarks, side)
    ix = INDICES[side]
    protect = (eye_centre(landmarks, side), 0.17 * iod)  # the cheek raise leaves the lid gap alone
    eyelid = None
    if "eye" in event.regions:
        eyelid = EyelidSlide(landmarks, side, closure=event.amplitude * level,
                             lower_rise=extras.get("lower_rise", 0.0) * level)
    pulls = []
    if "cheek" in event.regions:
        direction = 0.92 * up + 0.38 * out
        # The malar fat pad, midway between the mesh's cheek point (50/280, level with the nose tip) and the
        # infraorbital point (117/346): centred on 50/280 alone the pull moved only smooth skin and the mesh's
        # cheek points followed it by ~2 % of the displacement; here by ~8 %.
        centre = (landmarks[ix.cheek, :2] + landmarks[ix.malar, :2]) / 2
        pulls.append(RadialPull(centre, extras["cheek"] * level * iod * direction / np.linalg.norm(direction),
                                0.25 * iod, protect))
    if "mouth" in event.regions:
        direction = 0.55 * up + 0.85 * out
        pulls.append(RadialPull(landmarks[ix.mouth_corner, :2],
                                extras["mouth"] * level * iod * direction / np.linalg.norm(direction), 0.15 * iod))
    return eyelid, pulls


def _ms_outward(start: float, end: float) -> tuple[float, float]:
    """The interval rounded outwards to the millisecond: as written it still holds every changed frame."""
    return math.floor(start * 1000 + 1e-6) / 1000, math.ceil(end * 1000 - 1e-6) / 1000


def write_truth(path: Path, events: list[Spasm]) -> None:
    """The truth CSV: one row per event, TRUTH_COLUMNS."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(TRUTH_COLUMNS)
        for e in events:
            start, end = _ms_outward(*e.truth_interval())
            writer.writerow([f"{start:.3f}", f"{end:.3f}", e.side, ";".join(e.regions), e.kind,
                             f"{e.amplitude:.3f}", e.amplitude_unit])
    tmp.replace(path)


def render_clip(track: Track, plans: dict[str, list[Spasm]], out_dir: Path) -> dict[str, Path]:
    """Decode the source again and write every variant in one pass; returns variant -> video path."""
    paths = {v: out_dir / f"{track.path.stem}__{v}.mkv" for v in plans}
    intervals = {v: [e.truth_interval() for e in events] for v, events in plans.items()}
    with ExitStack() as stack:
        writers = {v: stack.enter_context(FFV1Writer(paths[v], track.width, track.height, track.rate,
                                                     track.time_base)) for v in plans}
        reader = stack.enter_context(VideoReader(track.path))
        for frame in reader:
            if frame.index >= len(track.times):
                break
            t, marks = track.times[frame.index], track.landmarks[frame.index]
            for variant, events in plans.items():
                image = frame.image
                for event, (start, end) in zip(events, intervals[variant]):
                    if not start <= t <= end or marks is None:
                        continue  # outside the truth interval a frame stays the decoded original
                    level = float(event.envelope(np.array([t]))[0])
                    if level > 1e-3:
                        image = render(image, *frame_warps(event, level, marks))
                writers[variant].write(image, int(track.pts[frame.index]))
    return paths


def _event_record(event: Spasm, track: Track) -> dict:
    start, end = _ms_outward(*event.truth_interval())
    peak = event.peak_s()
    frame = int(np.argmin(np.abs(track.times - peak)))
    overlaps = any(b0 < end and start < b1 for b0, b1 in blink_intervals(track.times, track.gaps))
    return dict(start_s=start, end_s=end, peak_s=round(peak, 3), peak_frame=frame,
                side=event.side, regions=list(event.regions), kind=event.kind, amplitude=event.amplitude,
                amplitude_unit=event.amplitude_unit, overlaps_source_blink=overlaps,
                jerks=len(event.jerks) if event.kind == "clonic" else None,
                source_gap_at_peak={s: round(float(track.gaps[frame, i]), 4) for i, s in enumerate(SIDES)},
                **{k: v for k, v in event.extras.items()})


def inject_clip(path: Path, out_dir: Path, landmarker: FaceLandmarker, *, seed: int = 0,
                variants: tuple[str, ...] = tuple(VARIANTS), max_s: float | None = None,
                side: str | None = None) -> dict:
    """Track, plan, render and write the truth of every variant of one clip; returns its manifest entry."""
    out_dir.mkdir(parents=True, exist_ok=True)
    track = track_clip(path, landmarker, max_s)
    plans = {v: make_events(track, v, seed=seed, side=side) for v in variants}
    videos = render_clip(track, plans, out_dir)
    entry = {}
    for variant, events in plans.items():
        write_truth(videos[variant].with_name(f"{path.stem}__{variant}.truth.csv"), events)
        entry[variant] = dict(video=videos[variant].name, events=[_event_record(e, track) for e in events])
    return entry


def _load_manifest(out_dir: Path) -> dict:
    f = out_dir / MANIFEST
    return json.loads(f.read_text()) if f.exists() else {}


def build(out_dir: Path, clips_dir: Path, seed: int, only: list[str] | None, max_s: float | None) -> None:
    clips = sorted(p for p in clips_dir.glob("*.mp4") if not only or p.stem in only)
    if not clips:
        sys.exit(f"no .mp4 clips in {clips_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(out_dir)
    manifest.setdefault("clips", {})
    manifest.update(seed=seed, generator="benchmarks/holdout_inject.py", truth_level=0.2,
                    amplitude_units={"aperture": "fraction of the lid gap closed at the peak",
                                     "iod": "peak displacement over the inter-ocular distance"})
    started = time.perf_counter()
    with FaceLandmarker(resolve_model().path) as landmarker:
        for n, clip in enumerate(clips, 1):
            t0 = time.perf_counter()
            manifest["clips"][clip.stem] = inject_clip(clip, out_dir, landmarker, seed=seed, max_s=max_s)
            (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1))
            count = sum(len(v["events"]) for v in manifest["clips"][clip.stem].values())
            print(f"[{n}/{len(clips)}] {clip.stem}: {count} events in {time.perf_counter() - t0:.1f} s", flush=True)
    total = sum(len(v["events"]) for c in manifest["clips"].values() for v in c.values())
    print(f"wrote {len(clips)} clips x {len(VARIANTS)} variants, {total} events, to {out_dir} "
          f"in {time.perf_counter() - started:.1f} s")


def measure(video: Path, landmarker: FaceLandmarker, frames: set[int]) -> dict[int, np.ndarray]:
    """MediaPipe landmarks, (478, 3) pixels, on the given frames of `video` (frames without a face left out)."""
    landmarker.reset()
    out = {}
    with VideoReader(video) as reader:
        for frame in reader:
            if frame.index > max(frames):
                break
            if frame.index in frames:
                obs = landmarker.observe(frame.index, frame.t_s, frame.image)
                if obs.face:
                    out[frame.index] = obs.landmarks
    return out


def measure_gaps(video: Path, landmarker: FaceLandmarker, frames: set[int]) -> dict[int, tuple[float, float]]:
    """Per-eye lid gap (right, left) over inter-ocular distance, from MediaPipe on the given frames of `video`."""
    return {i: (lid_gap(m, "right"), lid_gap(m, "left")) for i, m in measure(video, landmarker, frames).items()}


def _pick(manifest: dict, variant: str, n: int) -> list[str]:
    """Up to n clips with events in `variant`, sides alternating, longer (non-MEAD) clips first."""
    stems = sorted(manifest["clips"], key=lambda s: (s.startswith("mead"), s))
    by_side = {side: [s for s in stems if (ev := manifest["clips"][s].get(variant, {}).get("events"))
                      and ev[0]["side"] == side] for side in SIDES}
    picked = []
    while len(picked) < n and any(by_side.values()):
        for side in SIDES:
            if by_side[side] and len(picked) < n:
                picked.append(by_side[side].pop(0))
    return picked


def _rest_frames(events: list[dict], fps: float, n_frames: int) -> set[int]:
    spans = [(e["start_s"] - 0.2, e["end_s"] + 0.2) for e in events]
    return {i for i in range(0, n_frames, 3) if not any(a <= i / fps <= b for a, b in spans)}


def check(out_dir: Path, clips_dir: Path, n_clips: int) -> None:
    """Print the mesh's lid gaps at injected peaks vs rest (eye variants) and its landmark shifts (lower)."""
    manifest = _load_manifest(out_dir)
    if not manifest.get("clips"):
        sys.exit(f"no {MANIFEST} in {out_dir}: build the set first")
    summary: dict[str, list[tuple[float, float, float, float]]] = {}
    with FaceLandmarker(resolve_model().path) as landmarker:
        for variant in ("holdout_default", "holdout_small"):
            print(f"\n{variant}: mesh lid gap / inter-ocular distance, rest (median outside events) -> peak frame;"
                  " [source frame at the peak]")
            print(f"{'clip':36s} {'side':5s} {'kind':6s} {'amp':>5s}   {'injected eye':>24s}   {'other eye':>24s}")
            for stem in _pick(manifest, variant, n_clips):
                entry = manifest["clips"][stem][variant]
                events, video = entry["events"], out_dir / entry["video"]
                with VideoReader(video) as reader:
                    fps = reader.info.fps
                rest = _rest_frames(events, fps, max(e["peak_frame"] for e in events) + 25)
                gaps = measure_gaps(video, landmarker, rest | {e["peak_frame"] for e in events})
                rest_med = np.median(np.array([gaps[i] for i in rest if i in gaps]), axis=0)
                for e in events:
                    if e["peak_frame"] not in gaps:
                        continue
                    k, pk, src = SIDES.index(e["side"]), gaps[e["peak_frame"]], e["source_gap_at_peak"]
                    cells = [f"{rest_med[j]:.3f} -> {pk[j]:.3f} [{src[SIDES[j]]:.3f}]" for j in (k, 1 - k)]
                    print(f"{stem[:36]:36s} {e['side']:5s} {e['kind']:6s} {e['amplitude']:5.2f}   "
                          f"{cells[0]:>24s}   {cells[1]:>24s}")
                    summary.setdefault(f"{variant} {e['side']}", []).append(
                        (pk[k] / rest_med[k], pk[1 - k] / rest_med[1 - k], pk[k] / src[SIDES[k]],
                         pk[1 - k] / src[SIDES[1 - k]]))
        print("\nmean ratio of the mesh lid gap at the peak to rest [to the source frame]; 1 = unchanged")
        for key, rows in summary.items():
            r = np.array(rows)
            print(f"  {key:22s} injected eye {r[:, 0].mean():.2f} [{r[:, 2].mean():.2f}]   other eye "
                  f"{r[:, 1].mean():.2f} [{r[:, 3].mean():.2f}]   ({len(r)} events)")
        _check_lower(manifest, out_dir, clips_dir, n_clips, landmarker)


def _check_lower(manifest: dict, out_dir: Path, clips_dir: Path, n_clips: int, landmarker: FaceLandmarker) -> None:
    """holdout_lower: mesh shift of the mouth corner and cheek point (source -> injected, over the inter-ocular
    distance) on both sides, and the lid gaps' ratio, at each event's peak frame."""
    print("\nholdout_lower: mesh landmark shift at the peak frame, injected vs source, / inter-ocular distance")
    print(f"{'clip':36s} {'side':5s} {'regions':12s} {'amp':>5s}   {'mouth same/other':>17s}   "
          f"{'cheek same/other':>17s}   {'lid gap ratio same/other':>24s}")
    for stem in _pick(manifest, "holdout_lower", n_clips):
        entry = manifest["clips"][stem]["holdout_lower"]
        peaks = {e["peak_frame"] for e in entry["events"]}
        injected = measure(out_dir / entry["video"], landmarker, peaks)
        source = measure(clips_dir / f"{stem}.mp4", landmarker, peaks)
        for e in entry["events"]:
            f = e["peak_frame"]
            if f not in injected or f not in source:
                continue
            a, b = source[f], injected[f]
            iod = inter_ocular(a)
            other_side = SIDES[1 - SIDES.index(e["side"])]
            same, other = INDICES[e["side"]], INDICES[other_side]

            def shift(i: int, a=a, b=b, iod=iod) -> float:
                return float(np.linalg.norm(b[i, :2] - a[i, :2])) / iod

            gaps = [lid_gap(b, side) / lid_gap(a, side) for side in (e["side"], other_side)]
            print(f"{stem[:36]:36s} {e['side']:5s} {';'.join(e['regions']):12s} {e['amplitude']:5.3f}   "
                  f"{shift(same.mouth_corner):8.3f}/{shift(other.mouth_corner):.3f}   "
                  f"{shift(same.cheek):8.3f}/{shift(other.cheek):.3f}   {gaps[0]:15.2f}/{gaps[1]:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="folder to write the test set into")
    parser.add_argument("--clips", type=Path, default=CLIPS, help=f"source clips (default {CLIPS})")
    parser.add_argument("--seed", type=int, default=0, help="seed of sides, times and amplitudes (default 0)")
    parser.add_argument("--only", nargs="*", help="only these clip stems")
    parser.add_argument("--max-seconds", type=float, help="use only the first S seconds of each clip")
    parser.add_argument("--check", type=Path, metavar="DIR", help="check a built set with MediaPipe instead")
    parser.add_argument("--check-clips", type=int, default=4, help="clips per variant in --check (default 4)")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    if args.check:
        check(args.check, args.clips, args.check_clips)
    elif args.out:
        build(args.out, args.clips, args.seed, args.only, args.max_seconds)
    else:
        parser.error("give --out DIR (build) or --check DIR")


if __name__ == "__main__":
    main()
