"""What `twitchcam serve` was started with, in one record the app, the job store and the pool share."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_WORKERS = 1
DEFAULT_MAX_UPLOAD_MB = 500
DEFAULT_UPLOAD_IDLE_S = 30.0  # an upload that sends nothing for this long is dropped


def default_data_dir() -> Path:
    """`<user data dir>/twitchcam/server`: uploads, results and the job database live here."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("twitchcam")) / "server"


def is_loopback(host: str) -> bool:
    """Whether `host` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerSettings:
    """Options of one running server."""

    data_dir: Path
    model: str
    """Path of face_landmarker.task, resolved (and checked) before the server starts."""
    host: str = DEFAULT_HOST
    workers: int = DEFAULT_WORKERS
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    token: str | None = None
    """When set, every page and API call needs it (Bearer header, or the session cookie of the sign-in page)."""
    upload_idle_s: float = DEFAULT_UPLOAD_IDLE_S
    diary: Path | None = None
    """The patient's diary file (`serve --db`); None: the one `live` and `history` use by default."""

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def uploads_dir(self) -> Path:
        """Uploads in progress, under temporary names; moved into a job folder once checked."""
        return self.data_dir / "uploads"

    @property
    def database(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def diary_path(self) -> Path:
        """The diary recorded sessions and "add to my diary" uploads go into ($TWITCHCAM_DIARY, or the user's)."""
        from twitchcam.store.diary import default_diary_path

        return self.diary if self.diary is not None else default_diary_path()
