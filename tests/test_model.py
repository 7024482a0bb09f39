"""Model resolution and installation, with a real HTTP server on loopback standing in for the internet."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from twitchcam.core.errors import ModelIntegrityError, ModelNotFoundError
from twitchcam.media import model as model_module
from twitchcam.media.model import (
    EYE_MODEL_SHA256,
    MODEL_SHA256,
    cache_eye_model_path,
    cache_model_path,
    fetch_model,
    install_models,
    resolve_eye_model,
    resolve_model,
)


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No model anywhere: an empty user cache, no project copy, no environment variables."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("TWITCHCAM_MODEL", "TWITCHCAM_MODEL_URL", "TWITCHCAM_NO_DOWNLOAD", "TWITCHCAM_EYE_MODEL",
                 "TWITCHCAM_EYE_MODEL_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(model_module, "PROJECT_MODEL", tmp_path / "project" / "face_landmarker.task")
    monkeypatch.setattr(model_module, "PROJECT_EYE_MODEL", tmp_path / "project" / "iris_landmark.tflite")
    return tmp_path


@pytest.fixture
def model_server(model_path, eye_model_path):
    """A real HTTP server on 127.0.0.1 serving the folder that holds the model (and the eye model beside it)."""
    assert eye_model_path.parent == model_path.parent
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(model_path.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_explicit_path_comes_first(isolated, model_path, monkeypatch, tmp_path):
    monkeypatch.setenv("TWITCHCAM_MODEL", str(tmp_path / "missing.task"))
    found = resolve_model(model_path)
    assert found.path == model_path and found.sha256 == MODEL_SHA256


def test_environment_variable_before_default_locations(isolated, model_path, monkeypatch):
    fetch_model(model_path)  # a copy in the cache must lose against the variable
    monkeypatch.setenv("TWITCHCAM_MODEL", str(model_path))
    assert resolve_model().path == model_path


def test_missing_explicit_path_is_an_error(isolated, tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model(tmp_path / "nope.task")


def test_fetch_from_file_installs_into_the_user_cache(isolated, model_path):
    installed = fetch_model(model_path)
    assert installed.path == cache_model_path()
    assert installed.path.is_relative_to(isolated / "cache")
    assert resolve_model(download=False).path == installed.path
    assert [p.name for p in installed.path.parent.iterdir()] == ["face_landmarker.task"]


def test_fetch_refuses_a_wrong_file_and_leaves_nothing(isolated, tmp_path):
    fake = tmp_path / "fake.task"
    fake.write_bytes(b"not a model" * 1000)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        fetch_model(fake)
    assert not cache_model_path().exists()
    assert list(cache_model_path().parent.iterdir()) == []


def test_damaged_cached_model_is_reported(isolated):
    cache_model_path().parent.mkdir(parents=True)
    cache_model_path().write_bytes(b"truncated")
    with pytest.raises(ModelIntegrityError, match="damaged"):
        resolve_model(download=False)


def test_download_from_server_when_nothing_is_local(isolated, model_server, monkeypatch):
    monkeypatch.setenv("TWITCHCAM_MODEL_URL", f"{model_server}/face_landmarker.task")
    found = resolve_model()
    assert found.path == cache_model_path() and found.sha256 == MODEL_SHA256


def test_download_of_wrong_content_is_refused(isolated, model_server, monkeypatch, model_path):
    monkeypatch.setenv("TWITCHCAM_MODEL_URL", f"{model_server}/")  # a directory listing, not the model
    with pytest.raises(ModelIntegrityError):
        resolve_model()
    assert not cache_model_path().exists()


def test_offline_error_says_where_to_put_the_file(isolated, monkeypatch):
    monkeypatch.setenv("TWITCHCAM_MODEL_URL", "http://127.0.0.1:9/face_landmarker.task")  # nothing listens
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model()
    message = str(caught.value)
    assert "could not download" in message
    assert str(cache_model_path()) in message and "models fetch --from" in message


def test_no_download_switch(isolated, monkeypatch):
    monkeypatch.setenv("TWITCHCAM_NO_DOWNLOAD", "1")
    with pytest.raises(ModelNotFoundError, match="no face landmark model found"):
        resolve_model()


def test_model_is_not_tracked_by_git():
    ignore = (Path(__file__).resolve().parent.parent / ".gitignore").read_text()
    assert "models/*.task" in ignore


def test_models_are_ignored_by_git():
    repo = Path(__file__).resolve().parent.parent
    if shutil.which("git") is None or not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    for name in ("face_landmarker.task", "iris_landmark.tflite"):
        result = subprocess.run(["git", "check-ignore", "-q", f"models/{name}"], cwd=repo)
        assert result.returncode == 0, f"models/{name} would be committed"


# The per-eye model: found, fetched and checked like the face model, and told apart from it by its hash.

def test_eye_model_explicit_then_environment_then_cache(isolated, model_path, eye_model_path, monkeypatch, tmp_path):
    install_models([eye_model_path, model_path])
    assert resolve_eye_model(download=False).path == cache_eye_model_path()
    copy = tmp_path / "elsewhere.tflite"
    copy.write_bytes(eye_model_path.read_bytes())
    monkeypatch.setenv("TWITCHCAM_EYE_MODEL", str(copy))
    assert resolve_eye_model().path == copy
    assert resolve_eye_model(eye_model_path).path == eye_model_path
    monkeypatch.setenv("TWITCHCAM_EYE_MODEL", str(tmp_path / "missing.tflite"))
    with pytest.raises(ModelNotFoundError, match="TWITCHCAM_EYE_MODEL does not exist"):
        resolve_eye_model()


def test_install_from_both_files_in_either_order(isolated, model_path, eye_model_path):
    done = install_models([eye_model_path, model_path])
    assert [(d.file.path, d.file.sha256, d.written) for d in done] == [
        (cache_model_path(), MODEL_SHA256, True), (cache_eye_model_path(), EYE_MODEL_SHA256, True)]
    assert sorted(p.name for p in cache_model_path().parent.iterdir()) == ["face_landmarker.task",
                                                                          "iris_landmark.tflite"]
    again = install_models([model_path, eye_model_path])
    assert [d.written for d in again] == [False, False]  # already there with the right hash: left as it is


def test_install_replaces_a_damaged_copy_only(isolated, model_path, eye_model_path):
    install_models([model_path, eye_model_path])
    cache_eye_model_path().write_bytes(b"truncated")
    with pytest.raises(ModelIntegrityError, match="damaged"):
        resolve_eye_model(download=False)
    done = install_models([eye_model_path, model_path])
    assert [d.written for d in done] == [False, True]
    assert resolve_eye_model(download=False).sha256 == EYE_MODEL_SHA256


def test_install_from_one_file_downloads_the_other(isolated, model_server, eye_model_path, monkeypatch):
    monkeypatch.setenv("TWITCHCAM_MODEL_URL", f"{model_server}/face_landmarker.task")
    done = install_models([eye_model_path])
    assert [(d.file.path, d.written) for d in done] == [(cache_model_path(), True), (cache_eye_model_path(), True)]
    assert resolve_model(download=False).sha256 == MODEL_SHA256


def test_install_refuses_a_file_that_is_neither_and_writes_nothing(isolated, model_path, tmp_path):
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"not a model" * 1000)
    with pytest.raises(ModelIntegrityError, match="neither face_landmarker.task nor iris_landmark.tflite"):
        install_models([model_path, fake])
    assert not cache_model_path().parent.exists() or list(cache_model_path().parent.iterdir()) == []


def test_install_refuses_the_same_model_twice(isolated, eye_model_path, tmp_path):
    copy = tmp_path / "copy.tflite"
    copy.write_bytes(eye_model_path.read_bytes())
    with pytest.raises(ModelIntegrityError, match="both the eye model"):
        install_models([eye_model_path, copy])


def test_eye_model_download_from_server(isolated, model_server, monkeypatch):
    monkeypatch.setenv("TWITCHCAM_EYE_MODEL_URL", f"{model_server}/iris_landmark.tflite")
    found = resolve_eye_model()
    assert found.path == cache_eye_model_path() and found.sha256 == EYE_MODEL_SHA256


def test_eye_model_download_of_the_wrong_file_is_refused(isolated, model_server, monkeypatch):
    monkeypatch.setenv("TWITCHCAM_EYE_MODEL_URL", f"{model_server}/face_landmarker.task")  # the other model
    with pytest.raises(ModelIntegrityError, match="expected " + EYE_MODEL_SHA256):
        resolve_eye_model()
    assert not cache_eye_model_path().exists()


def test_eye_model_offline_error_says_where_to_put_it(isolated, monkeypatch):
    monkeypatch.setenv("TWITCHCAM_NO_DOWNLOAD", "1")
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_eye_model()
    message = str(caught.value)
    assert "no eye model found" in message and str(cache_eye_model_path()) in message
    assert "models fetch --from" in message and "TWITCHCAM_EYE_MODEL" in message
