"""Model resolution and installation, with a real HTTP server on loopback standing in for the internet."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from twitchcam import model as model_module
from twitchcam.errors import ModelIntegrityError, ModelNotFoundError
from twitchcam.model import MODEL_SHA256, cache_model_path, fetch_model, resolve_model


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No model anywhere: an empty user cache, no project copy, no environment variables."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TWITCHCAM_MODEL", raising=False)
    monkeypatch.delenv("TWITCHCAM_MODEL_URL", raising=False)
    monkeypatch.delenv("TWITCHCAM_NO_DOWNLOAD", raising=False)
    monkeypatch.setattr(model_module, "PROJECT_MODEL", tmp_path / "project" / "face_landmarker.task")
    return tmp_path


@pytest.fixture
def model_server(model_path):
    """A real HTTP server on 127.0.0.1 serving the folder that holds the model."""
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
