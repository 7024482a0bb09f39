"""Fuzzing: the detector on random and adversarial signals, and the video reader on mutated video files.

The detector properties extend tests/test_detect.py's random-noise property with what real recordings
and broken decoders can produce: runs of NaN (face lost), constant and saturated signals, ±inf and huge
values, the iris-contrast image channel, 0 to 3 frames, irregular times with long gaps and microsecond
steps, and one-sided pulses dense enough that events are found, back to back and on both sides.

The reader is fed byte flips, truncations, inserted, removed and repeated blocks of samples/hfs_left.mp4
(as shipped, with its MP4 index at the end; with the index moved to the front; and remuxed into Matroska,
so that damage behind the index still leaves frames to read) in a child process, so that a crash in
FFmpeg shows up as a signal instead of taking pytest down, with a deadline per file.
"""

from __future__ import annotations

import json
import math
import queue
import random
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from twitchcam.core.channels import CHANNELS
from twitchcam.core.clinical import event_statistics
from twitchcam.core.detect import REGIONS, detect_events
from twitchcam.core.events import EventTable, events_table

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "hfs_left.mp4"
SIDES = ("left", "right")
SIGNALS = sorted(c.name for c in CHANNELS)
PIXEL_CHANNELS = tuple(c.name for c in CHANNELS if not c.mesh)
REST = {"eyelid_aperture": 0.10, "brow_height": 0.45, "cheek_height": -0.45, "mouth_corner_height": -1.1,
        "mouth_corner_width": 0.45, "iris_contrast": 0.55, "eyelid_aperture_eye_model": 0.3, "upper_lid_drop": 0.0,
        "cheek_skin_lift": 0.0}
# How a column is made; each is something a landmarker, a decoder or a bug upstream can produce.
COLUMN_KINDS = ("noise", "noise", "pulses", "pulses", "constant", "nan", "nan_runs", "inf", "huge", "tiny", "steps")
TIMINGS = ("regular", "jitter", "gaps", "tiny_steps", "one_per_second")


@st.composite
def recordings(draw) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """(t_s, signals, usable) of a recording of 0..400 frames."""
    n = draw(st.one_of(st.integers(0, 3), st.integers(4, 400)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    timing = draw(st.sampled_from(TIMINGS))
    t0 = draw(st.sampled_from([0.0, 0.033, 3600.25]))
    step = {
        "regular": np.full(n, 1 / 30),
        "jitter": rng.uniform(0.2, 1.8, n) / 30,
        "gaps": np.where(rng.random(n) < 0.03, rng.uniform(2, 60, n), 1 / 30),
        "tiny_steps": np.where(rng.random(n) < 0.5, rng.uniform(1e-6, 1e-4, n), 1 / 30),
        "one_per_second": np.ones(n),
    }[timing]
    t = t0 + np.concatenate(([0.0], np.cumsum(step[: max(n - 1, 0)])))[:n]
    assert np.all(np.diff(t) > 0)  # the reader guarantees strictly increasing times; so does this generator

    columns = {}
    for name in SIGNALS:
        for side in SIDES:
            kind = draw(st.sampled_from(COLUMN_KINDS))
            values = REST[name] + rng.normal(0, 0.0015, n)
            if kind == "pulses":  # one-sided jerks and holds, some back to back, of varied strength
                for _ in range(int(rng.integers(1, 8))):
                    start, length = int(rng.integers(0, max(n, 1))), int(rng.integers(1, 40))
                    values[start : start + length] += rng.choice([-1, 1]) * rng.uniform(0.005, 0.2)
            elif kind == "constant":
                values[:] = REST[name]
            elif kind == "nan":
                values[:] = np.nan
            elif kind == "nan_runs":
                for _ in range(int(rng.integers(1, 5))):
                    start = int(rng.integers(0, max(n, 1)))
                    values[start : start + int(rng.integers(1, 60))] = np.nan
            elif kind == "inf":
                values[rng.random(n) < 0.05] = np.inf
                values[rng.random(n) < 0.05] = -np.inf
            elif kind == "huge":
                values[rng.random(n) < 0.1] = rng.choice([-1e300, 1e300, 1e12])
            elif kind == "tiny":
                values = REST[name] + rng.normal(0, 1e-12, n)
            elif kind == "steps":  # a posture change: the resting value jumps and stays
                values[int(rng.integers(0, max(n, 1))):] += rng.uniform(-0.1, 0.1)
            columns[f"{name}_{side}"] = values
    usable_kind = draw(st.sampled_from(["all", "none", "random", "runs"]))
    usable = {
        "all": np.ones(n, bool),
        "none": np.zeros(n, bool),
        "random": rng.random(n) > 0.2,
        "runs": (np.arange(n) // max(1, int(rng.integers(1, 50)))) % 3 != 0,
    }[usable_kind]
    return t, pd.DataFrame(columns, index=pd.RangeIndex(n)), usable


def check_well_formed(t: np.ndarray, usable: np.ndarray, detection) -> None:
    events = detection.events
    n = len(t)
    frame_step = float(np.median(np.diff(t))) if n > 1 else 1 / 30
    assert [e.start_s for e in events] == sorted(e.start_s for e in events)
    for side in SIDES:
        mine = [e for e in events if e.side == side]
        assert all(a.end_s <= b.start_s for a, b in zip(mine, mine[1:])), f"overlapping {side} events: {mine}"
    for e in events:
        assert e.side in SIDES
        assert t[0] <= e.start_s < e.end_s <= t[-1] + frame_step + 1e-9, e
        assert e.start_s <= e.peak_s <= e.end_s, e
        assert e.regions and set(e.regions) <= set(REGIONS) and list(e.regions) == [r for r in REGIONS
                                                                                     if r in e.regions]
        assert e.kind in ("clonic", "tonic")
        assert 0.1 <= e.confidence <= 1 and math.isfinite(e.peak_asymmetry), e
        assert 0 <= e.start_frame <= e.end_frame < n and usable[e.start_frame] and usable[e.end_frame]
        assert t[e.start_frame] == e.start_s
    for series in (*detection.asymmetry.values(), *detection.threshold.values(), *detection.evidence.values()):
        assert series.shape == (n,)
    # What the pipeline writes from them must be writable: finite numbers, strict JSON.
    table = events_table(events)
    assert len(table) == len(events) and np.isfinite(table.select_dtypes("number").to_numpy()).all()
    duration = float(t[-1] - t[0] + frame_step) if n else 0.0
    json.dumps(event_statistics(EventTable.from_events(events), duration), allow_nan=False)


@settings(max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(recordings())
def test_detector_never_raises_and_events_are_well_formed(recording):
    t, signals, usable = recording
    check_well_formed(t, usable, detect_events(t, signals, usable))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(recordings())
def test_detector_takes_plain_dicts_without_the_pixel_channels(recording):
    """`signals` may be a dict of arrays, and the pixel channels are optional (older frames.csv files)."""
    t, signals, usable = recording
    plain = {c: signals[c].to_numpy() for c in signals if not c.startswith(PIXEL_CHANNELS)}
    detection = detect_events(t, plain, usable)
    assert set(detection.evidence) == set(REGIONS) and set(REGIONS) <= set(detection.asymmetry)
    assert not set(PIXEL_CHANNELS) & set(detection.asymmetry)
    check_well_formed(t, usable, detection)


def test_the_generator_reaches_events_on_both_sides():
    """Guard against a generator too tame to test anything: some recordings must give events on each side."""
    from hypothesis import find

    def has_both_sides(recording) -> bool:
        t, signals, usable = recording
        sides = {e.side for e in detect_events(t, signals, usable).events}
        return sides == set(SIDES)

    t, signals, usable = find(recordings(), has_both_sides,
                              settings=settings(max_examples=500, database=None, derandomize=True,
                                                phases=[Phase.generate]))  # the first one found; no shrinking
    check_well_formed(t, usable, detect_events(t, signals, usable))


# ---- mutated video files through VideoReader ---------------------------------------------------------------

FUZZ_SEED = 20261121
FUZZ_FILES = 150  # ~25 s on 2 cores
FILE_DEADLINE_S = 30.0  # a healthy read of the 720-frame sample takes ~0.2 s

READER = r"""
import sys
from twitchcam.core.errors import TwitchcamError
from twitchcam.media.video import VideoReader

for i, path in enumerate(sys.argv[1:]):
    print("start", i, flush=True)
    try:
        with VideoReader(path) as reader:
            times = [frame.t_s for frame in reader]
            shape = (reader.info.width, reader.info.height)
        increasing = all(b > a for a, b in zip(times, times[1:]))
        print("frames", i, len(times), int(increasing), reader.damaged_frames, flush=True)
    except TwitchcamError as err:
        print("refused", i, type(err).__name__, str(err).replace(chr(10), " "), flush=True)
    except Exception as err:
        print("unexpected", i, type(err).__name__, str(err).replace(chr(10), " "), flush=True)
"""


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutation of `data`, named for the failure message."""
    kind = rng.choice(["flip", "flip_ends", "truncate", "insert", "delete", "zero_block", "duplicate"])
    buf = bytearray(data)
    if kind == "flip":  # scattered bit rot anywhere
        for _ in range(rng.randint(1, 200)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif kind == "flip_ends":  # damage to the headers and the index, at the start or the end of the file
        for _ in range(rng.randint(1, 20)):
            buf[rng.randrange(4096) if rng.random() < 0.5 else rng.randrange(len(buf) - 4096, len(buf))] = \
                rng.randrange(256)
    elif kind == "truncate":
        del buf[rng.randrange(len(buf)) :]
    elif kind == "insert":  # garbage spliced in shifts every offset behind it
        at = rng.randrange(len(buf))
        buf[at:at] = rng.randbytes(rng.choice([1, 7, 512, 65536]))
    elif kind == "delete":
        at = rng.randrange(len(buf))
        del buf[at : at + rng.choice([1, 100, 4096, 200000])]
    elif kind == "zero_block":
        at, size = rng.randrange(len(buf)), rng.choice([16, 4096, 100000])
        buf[at : at + size] = bytes(len(buf[at : at + size]))
    else:  # a block repeated, as a bad copy might
        at, size = rng.randrange(len(buf)), rng.choice([188, 4096, 50000])
        buf[at:at] = buf[at : at + size]
    return kind, bytes(buf)


def test_mutated_videos_never_hang_or_crash_the_reader(tmp_path):
    from corpus import remux

    layouts = {
        "index_at_end.mp4": SAMPLE,
        "index_in_front.mp4": remux(SAMPLE, tmp_path / "front.mp4", {"movflags": "faststart"}),
        "matroska.mkv": remux(SAMPLE, tmp_path / "sample.mkv"),
    }
    sources = {name: path.read_bytes() for name, path in layouts.items()}
    rng = random.Random(FUZZ_SEED)
    files, kinds = [], []
    for i in range(FUZZ_FILES):
        layout = list(sources)[i % len(sources)]
        kind, mutated = mutate(sources[layout], rng)
        path = tmp_path / f"mutant_{i:03d}_{layout}"
        path.write_bytes(mutated)
        files.append(path)
        kinds.append(f"{kind} of {layout}")

    outcomes, returncode, current, stderr = _read_in_child(files)
    assert returncode == 0, (f"the reader process died ({returncode}) on "
                             f"{files[current].name} ({kinds[current]}): {stderr}")
    # Nothing else on stderr: `twitchcam analyze` must say what went wrong in its one error line only.
    assert stderr == "", stderr
    assert sorted(outcomes) == list(range(len(files)))

    unexpected = {files[i].name: (kinds[i], o) for i, o in outcomes.items() if o[0] == "unexpected"}
    assert not unexpected, f"errors that are not twitchcam errors: {unexpected}"
    for i, outcome in outcomes.items():
        if outcome[0] == "frames":
            count, increasing = int(outcome[1]), outcome[2] == "1"
            assert count >= 2 and increasing, (files[i].name, kinds[i], outcome)
        else:
            assert outcome[1] == "VideoOpenError", (files[i].name, kinds[i], outcome)
    # The mutations must exercise every path, or the test proves little: refused files, files read in
    # full, and files read in part, with damaged frames skipped.
    frames = [(int(o[1]), int(o[3])) for o in outcomes.values() if o[0] == "frames"]
    assert 0 < len(frames) < len(outcomes), f"{len(frames)} of {len(outcomes)} mutants read"
    assert any(count == 720 for count, _ in frames) and any(count < 720 for count, _ in frames)
    assert any(damaged > 0 for _, damaged in frames)


def _read_in_child(paths: list[Path]) -> tuple[dict[int, list[str]], int, int | None, str]:
    """Read `paths` in one child process: (outcome by file index, its exit code, the file it was on, stderr).

    Fails the test when one file takes longer than `FILE_DEADLINE_S` (the child is killed).
    """
    outcomes: dict[int, list[str]] = {}
    lines: queue.Queue = queue.Queue()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen([sys.executable, "-c", READER, *map(str, paths)], stdout=subprocess.PIPE,
                                 stderr=err, text=True)

        def pump() -> None:
            for line in child.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        current = None
        while (line := _next_line(lines, child, paths, current)) is not None:
            word, index, *rest = line.split()
            if word == "start":
                current = int(index)
            else:
                outcomes[int(index)] = [word, *rest]
        child.wait()
        child.stdout.close()
        err.seek(0)
        stderr = err.read()[-3000:]
    return outcomes, child.returncode, current, stderr


def _next_line(lines: queue.Queue, child: subprocess.Popen, paths: list[Path], current: int | None) -> str | None:
    try:
        return lines.get(timeout=FILE_DEADLINE_S)
    except queue.Empty:
        child.kill()
        child.wait()
        name = paths[current].name if current is not None else "(before the first file)"
        pytest.fail(f"reading {name} took more than {FILE_DEADLINE_S:g} s: a hang")
