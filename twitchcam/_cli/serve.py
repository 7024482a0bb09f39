"""`twitchcam serve`: the local web page (upload or record a clip, follow progress, read the report, the diary)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from twitchcam._cli.options import configure_logging, debug_option, model_option
from twitchcam.core.errors import UsageError


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default answers only this computer; use --token with any other.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for uploads, results and the job database  [default: <user data dir>/twitchcam/server]")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Videos analysed at the same time (one process each, about 0.5 GB of memory each).")
@click.option("--max-upload-mb", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Largest video accepted, in MB.")
@click.option("--token", envvar="TWITCHCAM_TOKEN", show_envvar=True,
              help="Require this token on every page and API call (Bearer header, or the sign-in page).")
@click.option("--upload-timeout", "upload_idle_s", default=30.0, show_default=True,
              type=click.FloatRange(0.1, 3600),
              help="Seconds a request's headers may take, and an upload may send nothing, before the "
                   "connection is dropped.")
@click.option("--db", "diary_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Diary file for recorded sessions and uploads sent to the diary (the one `live` and `history` "
                   "use)  [default: $TWITCHCAM_DIARY, or diary.sqlite3 in the user data folder]")
@model_option
@debug_option
def serve(host: str, port: int, data_dir: Path | None, workers: int, max_upload_mb: int, token: str | None,
          upload_idle_s: float, diary_file: Path | None, model: str | None, debug: bool) -> None:
    """Serve the web page: upload or record face videos, follow their analysis, read the reports, keep the diary.

    Open http://HOST:PORT/ in a browser. The JSON API is described at /docs. Jobs and results stay in
    --data across restarts, readable by this user only; recorded sessions go into the diary (--db).
    """
    try:
        import jinja2  # noqa: F401 - the pages' templates
        import uvicorn

        from twitchcam.server.app import create_app
        from twitchcam.server.protocol import with_header_deadline
    except ImportError as err:
        raise UsageError(f"the web page needs extra packages ({err.name} is missing): "
                         "pip install 'twitchcam[all]'") from err
    from twitchcam.media.model import resolve_model
    from twitchcam.server.settings import ServerSettings, default_data_dir, is_loopback

    configure_logging(debug)
    os.umask(0o077)  # uploads, results and the job database are this user's alone (workers inherit it)
    if token is not None and not token.strip():
        raise UsageError("--token must not be empty")
    settings = ServerSettings(data_dir=(data_dir or default_data_dir()).expanduser().resolve(),
                              model=str(resolve_model(model).path), host=host, workers=workers,
                              max_upload_bytes=max_upload_mb * 1024 * 1024, token=token,
                              upload_idle_s=upload_idle_s,
                              diary=diary_file.expanduser().resolve() if diary_file is not None else None)
    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot use --data {settings.data_dir}: {err.strerror or err}") from err
    if not is_loopback(host) and token is None:
        click.echo(f"twitchcam: warning: listening on {host} without --token: anyone who can reach this "
                   "computer can upload videos and read results", err=True)
    click.echo(f"twitchcam: serving on http://{host}:{port}/ (data in {settings.data_dir}); Ctrl-C stops", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="debug" if debug else "warning",
                http=with_header_deadline(upload_idle_s))
