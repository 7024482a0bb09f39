"""Finding, verifying and installing MediaPipe's two models (never shipped with twitchcam).

- the face landmark model, `face_landmarker.task`: face mesh, head pose and blendshapes;
- the per-eye model, `iris_landmark.tflite`: each eye's lid contour and iris from that eye alone
  (see `twitchcam.media.eye_model`).

Search order, for each: an explicit path → its environment variable (``$TWITCHCAM_MODEL``,
``$TWITCHCAM_EYE_MODEL``) → ``models/<file>`` in the source tree → the user cache directory → a download
from MediaPipe's official address, verified by sha256.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from twitchcam.core.errors import ModelIntegrityError, ModelNotFoundError

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
PROJECT_MODEL = Path(__file__).resolve().parents[2] / "models" / MODEL_FILENAME

EYE_MODEL_FILENAME = "iris_landmark.tflite"
EYE_MODEL_SHA256 = "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f"
EYE_MODEL_URL = "https://storage.googleapis.com/mediapipe-assets/iris_landmark.tflite"
ENV_EYE_MODEL = "TWITCHCAM_EYE_MODEL"
ENV_EYE_MODEL_URL = "TWITCHCAM_EYE_MODEL_URL"
PROJECT_EYE_MODEL = PROJECT_MODEL.parent / EYE_MODEL_FILENAME


@dataclass(frozen=True)
class ModelFile:
    """A model file on disk and its sha256, which every summary.json records."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class ModelKind:
    """What tells one of the two models apart: its file name, official hash and address, and how it is named."""

    description: str  # in messages: "face landmark model"
    filename: str
    sha256: str
    url: str
    env: str  # environment variable with a path to use instead
    env_url: str  # environment variable with another download address
    explicit: str  # in messages: what passed an explicit path ("--model")
    hint: str  # in messages: the last way to give twitchcam the file


FACE = ModelKind("face landmark model", MODEL_FILENAME, MODEL_SHA256, MODEL_URL, ENV_MODEL, ENV_MODEL_URL,
                 explicit="--model", hint="pass --model FILE")
EYE = ModelKind("eye model", EYE_MODEL_FILENAME, EYE_MODEL_SHA256, EYE_MODEL_URL, ENV_EYE_MODEL,
                ENV_EYE_MODEL_URL, explicit="the eye model path", hint=f"set {ENV_EYE_MODEL}=FILE")
KINDS = (FACE, EYE)


def project_path(kind: ModelKind) -> Path:
    """`models/<file>` in the source tree (read at call time, so that tests can move it)."""
    return PROJECT_MODEL if kind is FACE else PROJECT_EYE_MODEL


def cache_path(kind: ModelKind) -> Path:
    """Where `twitchcam models fetch` installs that model for this user."""
    return Path(platformdirs.user_cache_dir("twitchcam")) / kind.filename


def cache_model_path() -> Path:
    """Where `twitchcam models fetch` installs the face model for this user."""
    return cache_path(FACE)


def cache_eye_model_path() -> Path:
    """Where `twitchcam models fetch` installs the eye model for this user."""
    return cache_path(EYE)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_model(explicit: str | os.PathLike | None = None, *, download: bool = True) -> ModelFile:
    """The face landmark model to use (see `resolve`)."""
    return resolve(FACE, explicit, download=download)


def resolve_eye_model(explicit: str | os.PathLike | None = None, *, download: bool = True) -> ModelFile:
    """The per-eye model to use (see `resolve`)."""
    return resolve(EYE, explicit, download=download)


def resolve(kind: ModelKind, explicit: str | os.PathLike | None = None, *, download: bool = True) -> ModelFile:
    """Return the model to use, downloading it into the user cache only when nothing local exists.

    An explicit path or the model's environment variable is used as given (a different hash is logged, so
    that other model versions can be tried); the default locations must hold the official file.
    """
    for given, origin in ((explicit, kind.explicit), (os.environ.get(kind.env), kind.env)):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ModelNotFoundError(f"{kind.description} file given by {origin} does not exist: {path}")
            digest = sha256_of(path)
            if digest != kind.sha256:
                log.warning("%s %s is not the official file (sha256 %s)", kind.description, path, digest)
            return ModelFile(path, digest)

    for path in (project_path(kind), cache_path(kind)):
        if path.is_file():
            digest = sha256_of(path)
            if digest != kind.sha256:
                raise ModelIntegrityError(
                    f"{path} is damaged or not the official {kind.description} (sha256 {digest}); delete it and "
                    "run 'twitchcam models fetch'"
                )
            return ModelFile(path, digest)

    if download and downloads_allowed():
        try:
            return fetch(kind)
        except ModelNotFoundError as err:
            raise type(err)(f"{err}; {where_to_put(kind)}") from err
    raise ModelNotFoundError(f"no {kind.description} found; {where_to_put(kind)}")


def where_to_put_it() -> str:
    return where_to_put(FACE)


def where_to_put(kind: ModelKind) -> str:
    return (
        f"put {kind.filename} (from {kind.url}) at {cache_path(kind)} or {project_path(kind)}, "
        f"or run 'twitchcam models fetch --from FILE', or {kind.hint}"
    )


def identify(path: str | os.PathLike) -> ModelKind:
    """Which of the two models the file at `path` is, by its sha256; `ModelIntegrityError` if neither."""
    src = Path(path).expanduser()
    if not src.is_file():
        raise ModelNotFoundError(f"model file to install does not exist: {src}")
    digest = sha256_of(src)
    for kind in KINDS:
        if digest == kind.sha256:
            return kind
    raise ModelIntegrityError(
        f"{src} is neither {MODEL_FILENAME} nor {EYE_MODEL_FILENAME} (sha256 {digest} matches neither official "
        "file); nothing installed"
    )


def fetch_model(source: str | os.PathLike | None = None, dest: str | os.PathLike | None = None) -> ModelFile:
    """Install the official face model from a local file or by download (see `fetch`)."""
    return fetch(FACE, source, dest)


def fetch_eye_model(source: str | os.PathLike | None = None, dest: str | os.PathLike | None = None) -> ModelFile:
    """Install the official eye model from a local file or by download (see `fetch`)."""
    return fetch(EYE, source, dest)


def fetch(kind: ModelKind, source: str | os.PathLike | None = None,
          dest: str | os.PathLike | None = None) -> ModelFile:
    """Install the official model from a local file or by download, refusing any other content.

    `dest`: a file path, or a folder to put it in under its own name (default: the user cache). The file is
    written under a temporary name beside its target and renamed only once its hash is right.
    """
    target = Path(dest).expanduser() if dest else cache_path(kind)
    if target.is_dir():
        target = target / kind.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{Path(kind.filename).stem}-", suffix=".part", dir=target.parent)
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
                url = os.environ.get(kind.env_url) or kind.url
                log.info("downloading %s", url)
                try:
                    with urllib.request.urlopen(url, timeout=30) as response:
                        shutil.copyfileobj(response, out)
                except (urllib.error.URLError, OSError, ValueError) as err:
                    raise ModelNotFoundError(f"could not download the {kind.description} from {url} ({err})") from err
        digest = sha256_of(tmp)
        if digest != kind.sha256:
            raise ModelIntegrityError(
                f"{kind.description} has sha256 {digest}, expected {kind.sha256} (wrong or damaged file); "
                "nothing installed"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return ModelFile(target, kind.sha256)


@dataclass(frozen=True)
class Installed:
    """One model after `install_models`: where it is, and whether this call wrote it or found it in place."""

    kind: ModelKind
    file: ModelFile
    written: bool


def install_models(sources: Sequence[str | os.PathLike] = (), folder: str | os.PathLike | None = None,
                   ) -> list[Installed]:
    """Make sure both models are installed in `folder` (default: the user cache): `twitchcam models fetch`.

    Each file in `sources` may be either model; it is recognised by its hash (a file matching neither, or
    two copies of the same model, are refused before anything is written). A model already installed
    with the right hash is left as it is; a missing or damaged one is copied from its source, or
    downloaded when no source was given (unless ``$TWITCHCAM_NO_DOWNLOAD`` forbids it).
    """
    given: dict[str, Path] = {}
    for source in sources:
        kind = identify(source)
        if kind.filename in given:
            raise ModelIntegrityError(f"{source} and {given[kind.filename]} are both the {kind.description}")
        given[kind.filename] = Path(source).expanduser()
    done = []
    for kind in KINDS:
        target = Path(folder).expanduser() / kind.filename if folder else cache_path(kind)
        if target.is_file() and sha256_of(target) == kind.sha256:
            done.append(Installed(kind, ModelFile(target, kind.sha256), written=False))
            continue
        source = given.get(kind.filename)
        if source is None and not downloads_allowed():
            raise ModelNotFoundError(f"{kind.filename} is not installed and {ENV_NO_DOWNLOAD} forbids downloading "
                                     "it; give a copy with --from FILE")
        done.append(Installed(kind, fetch(kind, source, target), written=True))
    return done


def downloads_allowed() -> bool:
    """False when ``$TWITCHCAM_NO_DOWNLOAD`` is set: then twitchcam never tries the network."""
    return os.environ.get(ENV_NO_DOWNLOAD, "") not in ("1", "true", "yes")
