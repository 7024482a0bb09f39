"""report.html and timeline.png from real analyses of the samples, rendered by a real headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLES

from twitchcam.core.clinical import ClinicalMeasures, parameters_from_summary
from twitchcam.core.severity import (
    JANKOVIC_FREQUENCY,
    JANKOVIC_SEVERITY,
    MIN_GRADING_S,
    SMC_GRADES,
    estimate_scales,
    jankovic_frequency,
    jankovic_severity,
    smc_grade,
)
from twitchcam.render import report_html as h
from twitchcam.render.report import REPORT_FILE, TIMELINE_FILE, EarlierSession, report_folder

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
LEFT_RGB = (0xD5, 0x5E, 0x00)
LABEL = "J. O'Neil & visit 3"
"""The patient or visit label given to the left-spasm sample's report (with characters that must be escaped)."""
FUNCTIONAL_CLAIM = re.compile(r"incapacitat|functional|disabling|blind", re.I)
"""Words that claim an effect on the patient's life or sight, which no video shows."""


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
        report_folder(out, video=SAMPLES / f"{name}.mp4", label=LABEL if name == "hfs_left" else None)
        folders[name] = out
    return folders


@pytest.fixture(scope="module")
def long_analysis(analysed):
    """A 192 s recording: the left-spasm sample's real MediaPipe measurements, played 8 times in a row (as
    benchmarks/report_speed.py builds a long clip from the samples), analysed by the real detector."""
    from twitchcam.media.frame_table import MEASURED_COLUMNS
    from twitchcam.media.video import VideoInfo
    from twitchcam.run.pipeline import analyse_table

    sample = analysed(SAMPLES / "hfs_left.mp4")
    s = sample.summary
    measured = sample.frames.loc[:, ["frame", "t_s", "face", "faces_found", *MEASURED_COLUMNS]]
    n, step = len(measured), s["duration_s"]
    copies = int(MIN_GRADING_S // step) + 1
    tiled = pd.concat([measured.assign(frame=measured["frame"] + k * n, t_s=measured["t_s"] + k * step)
                       for k in range(copies)], ignore_index=True)
    info = VideoInfo(path=Path(f"hfs_left_x{copies}.mp4"), width=s["width"], height=s["height"],
                     fps=s["nominal_fps"], frame_count=len(tiled), rotation_deg=0)
    return analyse_table(tiled, info, s["mirrored"], parameters_from_summary(s), s["model_sha256"])


@pytest.fixture(scope="module")
def earlier_sessions(tmp_path_factory, analysed) -> list[EarlierSession]:
    """Two earlier sessions kept in a real diary (the samples' analyses), as the web page reads them back."""
    from twitchcam.store.diary import Diary

    with Diary(tmp_path_factory.mktemp("diary") / "diary.sqlite3") as diary:
        for when, name in (("2026-01-12T09:30:00+01:00", "normal_blinks"), ("2026-03-02T18:05:00+01:00", "hfs_left")):
            diary.add_session(started_at=datetime.fromisoformat(when), analysis=analysed(SAMPLES / f"{name}.mp4"),
                              markers=[], source="file")
        return EarlierSession.from_diary(diary.sessions())


@pytest.fixture(scope="module")
def long_report(tmp_path_factory, long_analysis, earlier_sessions) -> Path:
    """The 192 s recording's results folder with its report (no video: no pictures), the diary's two earlier
    sessions passed for the trend."""
    out = tmp_path_factory.mktemp("reports") / "long_twitchcam"
    long_analysis.write(out)
    report_folder(out, label="Visit 4, 3 months after botulinum toxin", earlier=earlier_sessions)
    return out


def visible_text(page: str) -> str:
    """The report's text as a reader sees it: no style sheet, no markup, entities decoded, spaces collapsed."""
    text = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def clinic_summary(page: str) -> str:
    """The markup of the first-page summary."""
    found = re.search(r'<section class="clinic-summary".*?</section>', page, flags=re.S)
    assert found, "no clinic summary"
    return found.group(0)


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


# ---- the one-page clinic summary, sides, and grades only from long enough recordings ---------------------------

BARE_SIDE = re.compile(r"(?<!patient's )(?<!image's )\b(left|right)\b", re.I)


def test_summary_comes_first_with_the_numbers_of_summary_json(reports):
    from twitchcam.render.thumbnails import recording_date

    folder = reports["hfs_left"]
    page = (folder / REPORT_FILE).read_text(encoding="utf-8")
    summary = json.loads((folder / "summary.json").read_text())
    part = clinic_summary(page)
    assert page.index('id="clinic-summary"') < page.index('class="recording"') < page.index('class="finding"')
    text = visible_text(part)
    assert html.escape(LABEL) in part and LABEL in text
    assert (recording_date(SAMPLES / "hfs_left.mp4") or "date not stated in the file") in text
    assert h.length(summary["duration_s"]) in text
    assert f"Spasms per minute {summary['events_per_min']:.1f}" in text
    assert f"Time in spasm {summary['spasm_percent']:.1f}%" in text
    assert summary["affected_side"] == "left"
    assert f"Affected side Patient's left {summary['events_by_side']['left']} on the patient's left" in text
    involved = [f"{region} {count}" for region, count in summary["events_by_region"].items() if count]
    assert involved and f"Regions involved {', '.join(involved)} of {summary['n_events']} spasms" in text
    n, lifts = summary["n_events"], summary["brow_lift_events"]
    assert f"Brow-lift sign {f'{lifts} of {n}' if lifts else f'not seen (0 of {n})'}" in text
    assert "No earlier sessions" in text


def test_summary_of_a_clip_without_spasms(reports):
    folder = reports["normal_blinks"]
    summary = json.loads((folder / "summary.json").read_text())
    text = visible_text(clinic_summary((folder / REPORT_FILE).read_text(encoding="utf-8")))
    assert summary["n_events"] == 0, "the sample has bilateral blinks only"
    assert "no label given" in text
    assert "Affected side None found no one-sided spasm found" in text
    assert f"Spasms per minute {summary['events_per_min']:.1f}" in text and "Brow-lift sign –" in text


def test_sides_read_patients_left_and_right(reports, long_report):
    for folder in (*reports.values(), long_report):
        text = visible_text((folder / REPORT_FILE).read_text(encoding="utf-8"))
        bare = [text[max(0, m.start() - 40):m.end() + 20] for m in BARE_SIDE.finditer(text)]
        assert not bare, f"{folder.name}: a side that is not the patient's: {bare}"
    text = visible_text((reports["hfs_left"] / REPORT_FILE).read_text(encoding="utf-8"))
    assert "The patient's LEFT side twitches" in text and "patient's left eye closed" in text


def severity_table(page: str) -> list[tuple[str, str, str]]:
    """(scale, grade, graded yes/no) of each row of the report's severity table."""
    return [(scale, grade, graded) for graded, scale, grade in re.findall(
        r'<tr data-graded="(yes|no)"><td><strong>(.*?)</strong></td><td><div class="grade[^"]*">(.*?)</div>', page)]


def test_a_short_clip_is_not_graded(reports):
    folder = reports["hfs_left"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["duration_s"] * summary["usable_fraction"] < MIN_GRADING_S
    page = (folder / REPORT_FILE).read_text(encoding="utf-8")
    rows = severity_table(page)
    assert [(graded, grade) for _, grade, graded in rows] == [("no", "too short to grade")] * 3
    text = visible_text(clinic_summary(page))
    assert "Too short to grade: a grade needs at least 3 minutes of usable video" in text
    assert 'class="grades"' not in clinic_summary(page)
    assert not FUNCTIONAL_CLAIM.search(visible_text(page))


def test_a_long_enough_recording_is_graded_as_an_estimate(long_report, long_analysis):
    summary = long_analysis.summary
    assert summary["duration_s"] * summary["usable_fraction"] >= MIN_GRADING_S
    assert summary["n_events"] > 0
    page = (long_report / REPORT_FILE).read_text(encoding="utf-8")
    rows = severity_table(page)
    assert [graded for *_, graded in rows] == ["yes"] * 3
    (severity, _, _), (_, frequency, _), (_, smc, _) = rows
    assert "intensity and spread only" in severity
    assert rows[0][1] in "01234" and frequency in "01234" and smc in ("I", "II", "III")
    part = clinic_summary(page)
    shown = re.findall(r"<tr><td>(.*?)</td><td><strong>(.*?)</strong></td>", part)
    assert shown == [(scale, grade) for scale, grade, _ in rows], "the summary shows the severity table's grades"
    assert "too short" not in visible_text(part).lower()
    text = visible_text(page)
    assert "not a clinical rating" in text and "not disability" in text
    assert not FUNCTIONAL_CLAIM.search(text)


def test_severity_needs_three_minutes_of_usable_video():
    short = measures(duration_s=24.0, n_sustained=5, eye_narrowed={"left": 0.6, "right": 0.0})
    for estimate in estimate_scales(short):
        assert not estimate.graded and estimate.grade == "too short to grade" and "24 s" in estimate.rule
    long_but_turned_away = measures(duration_s=600.0)
    assert not any(e.graded for e in estimate_scales(long_but_turned_away, usable_s=MIN_GRADING_S - 1))
    assert all(e.graded for e in estimate_scales(long_but_turned_away, usable_s=MIN_GRADING_S))
    quiet = measures(duration_s=60.0, n_events=0, n_brief=0, affected_side="none")
    assert jankovic_severity(quiet).grade == "too short to grade", "a quiet minute is not grade 0"
    words = [*JANKOVIC_SEVERITY.values(), *JANKOVIC_FREQUENCY.values(), *SMC_GRADES.values()]
    many = [measures(), measures(n_sustained=2, spread_to_cheek_or_mouth=3),
            measures(tonic_per_min=2.0, eye_narrowed={"left": 0.6, "right": 0.0}, n_sustained=5), short]
    words += [f"{e.meaning} {e.rule}" for m in many for e in estimate_scales(m)]
    assert not [w for w in words if FUNCTIONAL_CLAIM.search(w)]


def test_trend_against_earlier_sessions_from_the_diary(long_report, long_analysis, earlier_sessions):
    assert [(s.day.isoformat(), round(s.minutes, 2)) for s in earlier_sessions] == [("2026-01-12", 0.33),
                                                                                     ("2026-03-02", 0.4)]
    part = clinic_summary((long_report / REPORT_FILE).read_text(encoding="utf-8"))
    text = visible_text(part)
    assert "No earlier sessions" not in text
    table = re.search(r'<table class="trend">.*?</table>', part, flags=re.S).group(0)
    rows = [[visible_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table)]
    now, previous = long_analysis.summary["events_per_min"], earlier_sessions[-1].events_per_min
    columns = [[f"{s.day:%Y-%m-%d}", f"{s.minutes:.1f}", f"{s.events_per_min:.1f}"] for s in earlier_sessions]
    columns.append(["this recording", f"{long_analysis.summary['duration_s'] / 60:.1f}", f"{now:.1f}"])
    assert [list(c) for c in zip(*rows)] == [["Session", "Minutes", "Spasms/min"], *columns], "oldest first"
    change = "unchanged" if abs(now - previous) < 0.005 * previous else "up" if now > previous else "down"
    assert f"{now:.1f} spasms/min now, {change}" in text and "on the previous session (2026-03-02" in text
    assert "up from none on the first of 2 earlier sessions (2026-01-12: 0.0/min)" in text


@pytest.mark.parametrize("paper", ["Letter", "A4"])
def test_the_summary_prints_on_one_page(long_report, earlier_sessions, tmp_path, paper):
    """Printed by Chromium, the summary (at its longest: long label, a full trend table, quality warnings,
    three grades) fills page 1 alone, and the rest of the report starts on page 2."""
    from pypdf import PdfReader

    folder = tmp_path / "longest"
    shutil.copytree(long_report, folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary["quality_warnings"] = ["head turned more than 20° in 30% of frames", "face lost in 12% of frames"]
    (folder / "summary.json").write_text(json.dumps(summary))
    many = [EarlierSession(f"2025-{month:02d}-15", 3.0 * month, 3.0) for month in range(1, 13)] + earlier_sessions
    report_folder(folder, label="Dr. Example's clinic, patient 2026-0113, second visit after microvascular "
                                "decompression of the facial nerve, seen with the family" * 2, earlier=many)
    page = (folder / REPORT_FILE).read_text(encoding="utf-8")
    if paper == "A4":
        page = page.replace("</style>", "@page { size: A4; }\n</style>")
    html_file = folder / f"print_{paper}.html"
    html_file.write_text(page, encoding="utf-8")
    pdf = tmp_path / f"{paper}.pdf"
    done = render(html_file, pdf, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert pdf.exists(), done.stderr
    reader = PdfReader(pdf)
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == {"Letter": (612, 792), "A4": (595, 842)}[paper]
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    first = pages[0].lower()  # (the summary's headings print in capitals)
    assert "clinic summary" in first and "estimated severity" in first and "trend" in first
    assert "follow on the next pages" in pages[0], "the summary runs over onto page 2"
    assert "older session(s) not listed" in pages[0] and "2 warnings" in pages[0]
    assert "frame rate" not in first and "frame rate" in pages[1].lower(), "the rest of the report starts on page 2"
    assert len(pages) >= 3


def test_report_command_takes_a_label(reports, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(reports["normal_blinks"], folder)
    done = run_cli("report", str(folder), "--label", "Visit <2>")
    assert done.returncode == 0, done.stderr
    part = clinic_summary((folder / REPORT_FILE).read_text(encoding="utf-8"))
    assert "Visit &lt;2&gt;" in part and "no label given" not in part


def test_analyze_keeps_the_label_for_later_reports(tmp_path):
    """`analyze --report --label` records the label in summary.json, so a report made again keeps it."""
    folder = tmp_path / "visit"
    done = run_cli("analyze", str(SAMPLES / "normal_blinks.mp4"), "--out", str(folder), "--report",
                   "--label", "Visit 5 <after MVD>", "--quiet")
    assert done.returncode == 0, done.stderr
    assert json.loads((folder / "summary.json").read_text())["label"] == "Visit 5 <after MVD>"
    (folder / REPORT_FILE).unlink()
    again = run_cli("report", str(folder), "--quiet")
    assert again.returncode == 0, again.stderr
    part = clinic_summary((folder / REPORT_FILE).read_text(encoding="utf-8"))
    assert "Visit 5 &lt;after MVD&gt;" in part and "no label given" not in part
