"""report.html and timeline.png from real analyses of the samples, rendered by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES

from twitchcam.core.clinical import ClinicalMeasures
from twitchcam.core.severity import jankovic_frequency, jankovic_severity, smc_grade
from twitchcam.render.report import REPORT_FILE, TIMELINE_FILE, report_folder

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
LEFT_RGB = (0xD5, 0x5E, 0x00)


@pytest.fixture(scope="module")
def reports(tmp_path_factory, analysed) -> dict[str, Path]:
    """Each sample's results folder with its report, as `twitchcam report OUTDIR` makes it.

    The analyses come from the session's cache (shared with test_clips). Without the face boxes that
    `analyze --report` records, the pictures are centred crops; test_annotate covers the recorded boxes.
    """
    folders = {}
    for name in ("hfs_left", "normal_blinks"):
        out = tmp_path_factory.mktemp("reports") / f"{name}_twitchcam"
        analysed(SAMPLES / f"{name}.mp4").write(out)
        report_folder(out, video=SAMPLES / f"{name}.mp4")
        folders[name] = out
    return folders


def event_rows(page: str) -> dict[int, str]:
    """The markup of each event-table row, by event number."""
    rows = re.findall(r'<tr id="event-(\d+)"(.*?)</tr>', page, flags=re.S)
    return {int(number): body for number, body in rows}


@pytest.mark.parametrize("name", ["hfs_left", "normal_blinks"])
def test_report_lists_every_event_with_its_pictures(reports, name):
    folder = reports[name]
    page = (folder / REPORT_FILE).read_text(encoding="utf-8")
    events = pd.read_csv(folder / "events.csv")
    rows = event_rows(page)
    assert sorted(rows) == sorted(events["event_id"])
    for event in events.itertuples():
        row = rows[event.event_id]
        assert f'data-side="{event.side}"' in row
        assert row.count('src="data:image/jpeg;base64,') == 2, "peak and quiet pictures"
        for region in event.regions.split(";"):
            assert region in row
    assert page.count('src="data:image/png;base64,') >= 1  # the timeline
    timeline = cv2.imread(str(folder / TIMELINE_FILE))
    assert timeline is not None and timeline.shape[0] > 300 and timeline.std() > 10
    if events.empty:
        assert "No one-sided spasm found" in page


@pytest.mark.parametrize("name", ["hfs_left", "normal_blinks"])
def test_report_is_one_self_contained_file(reports, name):
    page = (reports[name] / REPORT_FILE).read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:") for s in sources), [s[:40] for s in sources if
                                                                      not s.startswith("data:")]
    assert all(u.startswith("data:") for u in re.findall(r"url\(\s*['\"]?([^'\")]*)", page))
    assert "@media print" in page and "break-inside: avoid" in page


def test_left_spasm_report_says_left_where_how_often_and_how_strongly(reports):
    page = (reports["hfs_left"] / REPORT_FILE).read_text(encoding="utf-8")
    summary = json.loads((reports["hfs_left"] / "summary.json").read_text())
    assert "LEFT side twitches" in page
    assert f"{summary['events_per_min']:.1f}" in page  # how often
    assert "left eye closed" in page and "of its opening" in page  # how strongly
    assert "eye in 5 of 5" in page  # where
    for scale in ("Jankovic Rating Scale, severity", "Jankovic Rating Scale, frequency", "SMC grade"):
        assert scale in page
    assert "ESTIMATES" in page and "not a diagnosis" in page
    assert summary["model_sha256"] in page


def render(html: Path, png: Path, tmp_path: Path, *extra: str, size: str = "1100,4200") -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("TWITCHCAM_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--hide-scrollbars", *extra, html.as_uri()]
    if not extra:
        command[-1:-1] = [f"--screenshot={png}", f"--window-size={size}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_report_renders_in_headless_chromium(reports, tmp_path):
    png = tmp_path / "report.png"
    done = render(reports["hfs_left"] / REPORT_FILE, png, tmp_path)
    assert png.exists(), done.stderr
    image = cv2.imread(str(png))[:, :, ::-1]
    assert image.std() > 20, "the page rendered blank"
    left = np.all(np.abs(image.astype(int) - LEFT_RGB) < 12, axis=2)
    assert left.sum() > 2000, "the left side's colour (banner, chips, timeline) is missing"
    assert (image.min(axis=2) < 60).mean() > 0.01, "no text"


def test_report_prints_to_several_pages(reports, tmp_path):
    pdf = tmp_path / "report.pdf"
    done = render(reports["hfs_left"] / REPORT_FILE, pdf, tmp_path, f"--print-to-pdf={pdf}",
                  "--no-pdf-header-footer")
    assert pdf.exists(), done.stderr
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert 3 <= pages <= 12


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twitchcam._cli.main", *args], capture_output=True, text=True,
                          timeout=120)


def test_report_command_rebuilds_the_report_and_says_when_the_video_is_gone(reports, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(reports["hfs_left"], folder)
    (folder / REPORT_FILE).unlink()
    done = run_cli("report", str(folder), "--video", str(SAMPLES / "hfs_left.mp4"))
    assert done.returncode == 0, done.stderr
    assert len(event_rows((folder / REPORT_FILE).read_text(encoding="utf-8"))) == 5

    summary = json.loads((folder / "summary.json").read_text())
    summary["video"] = str(tmp_path / "moved away.mp4")
    (folder / "summary.json").write_text(json.dumps(summary))
    done = run_cli("report", str(folder))
    assert done.returncode == 0, done.stderr
    assert "twitchcam: warning: video" in done.stderr and "not found" in done.stderr
    page = (folder / REPORT_FILE).read_text(encoding="utf-8")
    assert "was not found, so there are no face pictures" in page and "data:image/jpeg" not in page

    done = run_cli("report", str(folder), "--video", str(tmp_path / "nope.mp4"))
    assert done.returncode == 2 and done.stderr.startswith("twitchcam: error: video not found")
    done = run_cli("report", str(tmp_path))
    assert done.returncode == 2 and "run `twitchcam analyze` first" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_values_from_the_files_are_escaped(reports, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(reports["normal_blinks"], folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["video"] = str(SAMPLES / "<b>bold</b>.mp4")
    summary["quality_warnings"] = ["<img src=x onerror=alert(1)>"]
    (folder / "summary.json").write_text(json.dumps(summary))
    report_folder(folder, video=SAMPLES / "normal_blinks.mp4")
    page = (folder / REPORT_FILE).read_text(encoding="utf-8")
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def measures(**changes) -> ClinicalMeasures:
    from twitchcam.core.blinks import BlinkCount

    base = dict(duration_s=600.0, affected_side="left", n_events=20, n_brief=20, n_sustained=0, brief_per_min=2.0,
                sustained_per_min=0.0, tonic_per_min=0.0, spreading_sustained_per_min=0.0, spasm_fraction=0.02,
                eye_narrowed={"left": 0.02, "right": 0.0}, mean_event_s=0.4, longest_event_s=0.9,
                events_by_region={"eye": 20, "brow": 0, "cheek": 0, "mouth": 0}, spread_beyond_eye=0,
                spread_to_cheek_or_mouth=0, brow_lift_events=0, blinks=BlinkCount(), peak_eye_closure=0.3,
                median_eye_closure=0.2)
    return ClinicalMeasures(**{**base, **changes})


def test_severity_rules():
    brief = measures()
    assert (jankovic_severity(brief).grade, jankovic_frequency(brief).grade, smc_grade(brief).grade) == ("2", "2", "I")
    sustained = measures(n_sustained=2, n_brief=18, spread_to_cheek_or_mouth=3)
    assert (jankovic_severity(sustained).grade, jankovic_frequency(sustained).grade) == ("3", "3")
    assert smc_grade(sustained).grade == "II"
    tonic = measures(tonic_per_min=2.0, eye_narrowed={"left": 0.3, "right": 0.0}, n_sustained=5)
    assert (jankovic_severity(tonic).grade, smc_grade(tonic).grade) == ("4", "III")
    closed = measures(eye_narrowed={"left": 0.6, "right": 0.0}, n_sustained=5)
    assert jankovic_frequency(closed).grade == "4"
    none = measures(n_events=0, n_brief=0, affected_side="none")
    assert (jankovic_severity(none).grade, jankovic_frequency(none).grade, smc_grade(none).grade) == ("0", "0", "–")
    assert all("≥" in e.rule or "no one-sided" in e.rule for e in (jankovic_severity(tonic), smc_grade(tonic)))
