"""The Record and History pages end to end in headless Chromium, with a fake camera playing a real clip.

Chromium's fake capture device plays an MJPEG file made at test time from samples/hfs_left.mp4 (a face with
left-sided spasms); `--use-fake-ui-for-media-stream` grants the camera as a patient clicking "Allow" would.
The page records with MediaRecorder (WebM, no duration or frame count in the file), uploads the recording
as a job for the diary, and the History page then lists it, takes a treatment and deletes the session.
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from test_server import SAMPLE, running_server
from test_server_browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS, _need_browser

httpx = pytest.importorskip("httpx")
pytestmark = pytest.mark.slow

RECORD_S = 20
JOB_TIMEOUT_S = 240
# Kept in sessionStorage (it outlives the page's move to the job page): when a camera track was stopped and
# when the upload went out, so the test can tell the camera stopped before anything was sent.
SPY = """
const stop = MediaStreamTrack.prototype.stop;
MediaStreamTrack.prototype.stop = function () {
  if (!sessionStorage.getItem('tc-stopped')) {
    sessionStorage.setItem('tc-stopped', String(performance.timeOrigin + performance.now()));
  }
  return stop.call(this);
};
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  sessionStorage.setItem('tc-sent', String(performance.timeOrigin + performance.now()));
  return send.call(this, body);
};
"""


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory) -> Path:
    """The sample clip as Motion JPEG, the format Chromium's fake camera plays (it loops at 30 fps)."""
    import cv2

    path = tmp_path_factory.mktemp("camera") / "hfs_left.mjpeg"
    capture = cv2.VideoCapture(str(SAMPLE))
    with open(path, "wb") as out:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            out.write(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    capture.release()
    return path


@pytest.fixture
def browser(tmp_path, camera_file):
    webdriver = _need_browser()
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                 f"--use-file-for-fake-video-capture={camera_file}", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, timeout_s: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s, poll_frequency=0.2).until(condition)


def camera_is_live(driver) -> bool:
    return driver.execute_script(
        "const s = document.getElementById('preview').srcObject;"
        "return !!s && s.getVideoTracks().some(t => t.readyState === 'live');")


def test_the_guided_protocol_shows_lives_prompts_and_cancel_keeps_nothing(browser, tmp_path, model_path):
    """The rest protocol's steps and timings are `live --protocol rest`'s; before Start and after Cancel
    nothing is sent, and Cancel turns the camera off."""
    from selenium.webdriver.common.by import By

    from twitchcam.run.live.protocol import PROTOCOLS

    with running_server(tmp_path / "data", model_path, "--db", str(tmp_path / "diary.sqlite3")) as server:
        browser.get(f"{server.url}/record")
        assert "The video stays on this computer" in browser.find_element(By.ID, "privacy").text
        assert not camera_is_live(browser)  # no camera before the patient asks for it
        listed = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#protocol-steps li")]
        assert listed == [f"{s.prompt} ({s.seconds:.0f} s)" for s in PROTOCOLS["rest"]], listed
        browser.find_element(By.ID, "camera-on").click()
        wait_for(browser, camera_is_live)
        time.sleep(1.5)
        with server.client() as client:
            assert client.get("/api/jobs").json() == []  # the preview records and sends nothing
        browser.find_element(By.ID, "start").click()
        wait_for(browser, lambda d: d.find_element(By.ID, "countdown").text.endswith(" s"))
        first = PROTOCOLS["rest"][0]
        assert browser.find_element(By.ID, "prompt").text == first.prompt
        left = int(browser.find_element(By.ID, "countdown").text.split()[0])
        assert first.seconds - 3 <= left <= first.seconds, left
        total = sum(s.seconds for s in PROTOCOLS["rest"])
        remaining = browser.find_element(By.ID, "remaining").text  # "Step 1 of 4 · 84 s left in all"
        assert remaining.startswith(f"Step 1 of {len(PROTOCOLS['rest'])}"), remaining
        assert total - 4 <= int(remaining.split("·")[1].split()[0]) <= total, remaining
        browser.find_element(By.ID, "cancel").click()
        wait_for(browser, lambda d: "nothing was kept" in d.find_element(By.ID, "msg").text)
        assert not camera_is_live(browser)
        time.sleep(1.0)
        with server.client() as client:
            assert client.get("/api/jobs").json() == []
        assert not list((tmp_path / "data").rglob("*.webm")) and not list((tmp_path / "data").rglob("*.part"))


def test_record_upload_analyse_and_find_it_in_the_history(browser, tmp_path, model_path, analysed):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select

    diary = tmp_path / "diary.sqlite3"
    with running_server(tmp_path / "data", model_path, "--workers", "1", "--db", str(diary)) as server:
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SPY})
        browser.get(f"{server.url}/record")
        browser.find_element(By.ID, "mode-free").click()
        seconds = browser.find_element(By.ID, "free-seconds")
        seconds.clear()
        seconds.send_keys(str(RECORD_S))
        browser.find_element(By.ID, "label").send_keys("morning")
        browser.find_element(By.ID, "note").send_keys("2 weeks after Botox")
        browser.find_element(By.ID, "camera-on").click()
        wait_for(browser, lambda d: d.find_element(By.ID, "start").is_enabled())
        browser.find_element(By.ID, "start").click()
        began = time.monotonic()
        wait_for(browser, lambda d: d.find_element(By.ID, "rec").is_displayed(), 10)
        browser.save_screenshot(str(tmp_path / "recording.png"))
        wait_for(browser, lambda d: "/jobs/" in d.current_url, RECORD_S + 60)
        recorded_for = time.monotonic() - began
        stopped = float(browser.execute_script("return sessionStorage.getItem('tc-stopped')"))
        sent = float(browser.execute_script("return sessionStorage.getItem('tc-sent')"))
        assert stopped <= sent, "the camera was still on when the recording was sent"
        assert RECORD_S <= recorded_for < RECORD_S + 30, recorded_for

        job_id = browser.current_url.rsplit("/", 1)[1]
        stages = set()
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while not browser.find_elements(By.ID, "report") and not browser.find_elements(By.ID, "error"):
            assert time.monotonic() < deadline, "the recording was not analysed in time"
            for li in browser.find_elements(By.CSS_SELECTOR, "#steps li.now"):
                stages.add(li.get_attribute("data-step"))
            time.sleep(0.2)
        assert not browser.find_elements(By.ID, "error"), browser.find_element(By.ID, "error").text
        assert "analysing" in stages, stages
        headline = browser.find_element(By.CSS_SELECTOR, ".headline").text
        assert "on the patient's left side" in headline, headline
        assert browser.find_element(By.ID, "label").text == "morning"
        assert browser.find_element(By.ID, "note").text == "2 weeks after Botox"
        browser.save_screenshot(str(tmp_path / "recorded_job.png"))

        with server.client() as client:
            job = client.get(f"/api/jobs/{job_id}").json()
            assert (job["recorded"], job["diary"], job["protocol"], job["mirrored"]) == (True, True, "", False)
            assert job["name"].startswith("recording-") and job["name"].endswith(".webm")
            served = pd.read_csv(io.BytesIO(client.get(f"/api/jobs/{job_id}/files/events.csv").content))
            frames = pd.read_csv(io.BytesIO(client.get(f"/api/jobs/{job_id}/files/frames.csv").content))
            deadline = time.monotonic() + 30
            while job["session_id"] is None:
                assert job["diary_error"] is None and time.monotonic() < deadline, job
                time.sleep(0.2)
                job = client.get(f"/api/jobs/{job_id}").json()
        # The file Chromium recorded, as it was stored: `analyze` finds the same events in it.
        webm = tmp_path / "recorded.webm"
        shutil.copyfile(server.data / "jobs" / job_id / "input.webm", webm)
        from twitchcam.media.video import VideoReader

        with VideoReader(webm) as reader:
            assert reader.info.frame_count == 0  # MediaRecorder writes no frame count: the reader copes
        assert job["frames_total"] == len(frames)  # counted from the packets at upload, for the progress bar
        assert RECORD_S * 25 <= len(frames) <= RECORD_S * 31, len(frames)
        expected = analysed(webm).events
        pd.testing.assert_frame_equal(served, pd.read_csv(io.StringIO(expected.to_csv(index=False))))
        assert len(served) >= 2 and set(served["side"]) == {"left"}, served
        assert job["summary"]["n_events"] == len(served)

        from twitchcam.store.diary import Diary

        with Diary(diary, create=False) as book:
            pd.testing.assert_frame_equal(book.events(job["session_id"]), served, check_dtype=False)

        # History: the session with its spasms per minute; then a treatment.
        browser.get(f"{server.url}/history")
        row = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR,
                                                          f"#sessions-body tr[data-session='{job['session_id']}']"))[0]
        assert row.find_element(By.CSS_SELECTOR, ".spm").text == f"{job['summary']['events_per_min']:.2f}"
        assert "patient's left" in row.text and "morning — 2 weeks after Botox" in row.text
        wait_for(browser, lambda d: d.execute_script("return document.getElementById('trend').naturalWidth") > 0)
        Select(browser.find_element(By.ID, "kind")).select_by_value("botox")
        browser.execute_script("document.getElementById('date').value = '2026-11-03'")
        Select(browser.find_element(By.ID, "side")).select_by_value("left")
        browser.find_element(By.ID, "treatment-note").send_keys("50 units")
        browser.find_element(By.ID, "add-treatment").click()
        wait_for(browser, lambda d: "Added: Botox on 2026-11-03" in d.find_element(By.ID, "treatment-msg").text)
        assert "patient's left" in browser.find_element(By.ID, "treatments-body").text
        browser.save_screenshot(str(tmp_path / "history.png"))
        with server.client() as client:
            treatments = client.get("/api/treatments").json()
        assert [(t["kind"], t["date"], t["side"], t["note"]) for t in treatments] == [
            ("botox", "2026-11-03", "left", "50 units")]

        # Deleting the session from the page, after the patient confirms: gone from the diary, treatments kept.
        row = browser.find_element(By.CSS_SELECTOR, f"#sessions-body tr[data-session='{job['session_id']}']")
        row.find_element(By.CSS_SELECTOR, ".delete-session").click()
        prompt = wait_for(browser, EC.alert_is_present(), 5)
        assert f"Delete session {job['session_id']}" in prompt.text
        prompt.accept()
        wait_for(browser, lambda d: "No sessions yet" in d.find_element(By.ID, "sessions-body").text)
        with server.client() as client:
            assert client.get("/api/history").json() == [] and len(client.get("/api/treatments").json()) == 1
            assert client.get(f"/api/jobs/{job_id}").json()["session_id"] is None
        with Diary(diary, create=False) as book:
            assert book.sessions().empty
        print(f"recorded {len(frames)} frames in {recorded_for:.0f} s; {len(served)} events; screenshots in {tmp_path}")
