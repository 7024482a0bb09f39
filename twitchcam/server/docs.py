"""The API's description page, /docs, from files on this machine (fastapi-offline's copy), never from a CDN.

FastAPI's own /docs loads Swagger UI's script and style from a CDN and its favicon from the framework's
site, and /redoc loads web fonts: a clinician's browser would tell those sites that the page was opened,
and offline the page stays blank. Both are turned off; this /docs serves the same Swagger UI (5.x, which
reads FastAPI's OpenAPI 3.1) from the files the `fastapi-offline` package ships, without the online spec
validator, and with the pages' own CSP (no inline script: FastAPI's page starts Swagger UI with one, ours
from /static/docs.js on settings in a JSON block). Only the package's files are used, not its app class.
Without that package /docs says where the machine-readable description is (/openapi.json).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from twitchcam.server import pages

ASSETS = {  # name under /docs/assets/ → media type: nothing else of the package is served
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


def swagger_ui_folder() -> Path | None:
    """Where fastapi-offline keeps Swagger UI's files, or None when it is not installed."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if all((folder / name).is_file() for name in ASSETS) else None


def add_docs(app: FastAPI) -> None:
    """Add /docs (Swagger UI from local files) and its assets to `app` (built with docs_url=None)."""
    folder = swagger_ui_folder()

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs_page() -> HTMLResponse:
        if folder is None:
            return pages.html(pages.no_docs_page())
        settings = {"url": app.openapi_url, "deepLinking": True, "showExtensions": True,
                    "showCommonExtensions": True, "validatorUrl": None, "tryItOutEnabled": False}
        return pages.html(pages.render("docs.html", title=f"{app.title} API", data=settings))

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> FileResponse:
        if folder is None or name not in ASSETS:
            raise HTTPException(404, "no such file")
        return FileResponse(folder / name, media_type=ASSETS[name])
