"""Finding, verifying and installing MediaPipe's face landmark model (never shipped with twitchcam).

Search order: an explicit path → ``$TWITCHCAM_MODEL`` → ``models/face_landmarker.task`` in the source
tree → the user cache directory → a download from MediaPipe's official address, verified by sha256.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from twitchcam.errors import ModelIntegrityError, ModelNotFoundError

log = logging.getLogger(__name__)

MODEL_FILENAME = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_URL = (
    "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/"
    "face_landmarker.task"
)
ENV_MODEL = "TWITCHCAM_MODEL"
ENV_MODEL_URL = "TWITCHCAM_MODEL_URL"  # another download address (a mirror, or a test server)
ENV_NO_DOWNLOAD = "TWITCHCAM_NO_DOWNLOAD"  # set to 1 to never try the network
PROJECT_MODEL = Path(__file__).resolve().parent.parent / "models" / MODEL_FILENAME


@dataclass(frozen=True)
class ModelFile:
    """A model file on disk and its sha256, which every summary.json records."""

    path: Path
    sha256: str


def cache_model_path() -> Path:
    """Where `twitchcam models fetch` installs the model for this user."""
    return Path(platformdirs.user_cache_dir("twitchcam")) / MODEL_FILENAME


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model(explicit: str | os.PathLike | None = None, *, download: bool = True) -> ModelFile:
    """Return the model to use, downloading it into the user cache only when nothing local exists.

    An explicit path or ``$TWITCHCAM_MODEL`` is used as given (a different hash is logged, so that
    other model versions can be tried); the default locations must hold the official file.
    """
    for given, origin in ((explicit, "--model"), (os.environ.get(ENV_MODEL), ENV_MODEL)):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ModelNotFoundError(f"model file given by {origin} does not exist: {path}")
            digest = sha256_of(path)
            if digest != MODEL_SHA256:
                log.warning("model %s is not the official float16 v1 file (sha256 %s)", path, digest)
            return ModelFile(path, digest)

    for path in (PROJECT_MODEL, cache_model_path()):
        if path.is_file():
            digest = sha256_of(path)
            if digest != MODEL_SHA256:
                raise ModelIntegrityError(
                    f"{path} is damaged or not the official model (sha256 {digest}); delete it and run "
                    "'twitchcam models fetch'"
                )
            return ModelFile(path, digest)

    if download and os.environ.get(ENV_NO_DOWNLOAD, "") not in ("1", "true", "yes"):
        try:
            return fetch_model()
        except ModelNotFoundError as err:
            raise type(err)(f"{err}; {where_to_put_it()}") from err
    raise ModelNotFoundError(f"no face landmark model found; {where_to_put_it()}")


def where_to_put_it() -> str:
    return (
        f"put {MODEL_FILENAME} (from {MODEL_URL}) at {cache_model_path()} or {PROJECT_MODEL}, "
        f"or run 'twitchcam models fetch --from FILE', or pass --model FILE"
    )


def fetch_model(source: str | os.PathLike | None = None, dest: str | os.PathLike | None = None) -> ModelFile:
    """Install the official model from a local file or by download, refusing any other content.

    The file is written under a temporary name beside ``dest`` and renamed only once its hash is right.
    """
    target = Path(dest).expanduser() if dest else cache_model_path()
    if target.is_dir():
        target = target / MODEL_FILENAME
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".face_landmarker-", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            if source is not None:
                src = Path(source).expanduser()
                if not src.is_file():
                    raise ModelNotFoundError(f"model file to install does not exist: {src}")
                with open(src, "rb") as fh:
                    shutil.copyfileobj(fh, out)
            else:
                url = os.environ.get(ENV_MODEL_URL) or MODEL_URL
                log.info("downloading %s", url)
                try:
                    with urllib.request.urlopen(url, timeout=30) as response:
                        shutil.copyfileobj(response, out)
                except (urllib.error.URLError, OSError, ValueError) as err:
                    raise ModelNotFoundError(f"could not download the model from {url} ({err})") from err
        digest = sha256_of(tmp)
        if digest != MODEL_SHA256:
            raise ModelIntegrityError(
                f"model has sha256 {digest}, expected {MODEL_SHA256} (wrong or damaged file); nothing installed"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return ModelFile(target, MODEL_SHA256)
