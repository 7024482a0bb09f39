"""The HTML pages: upload, record, the list of videos, one job, the diary's history, sign-in.

Rendered from Jinja2 templates (`templates/`) with autoescaping on for every page, so a value (a file name,
a label, a note) is text wherever it goes; values a page's script needs travel as JSON in a
`<script type="application/json">` block (Jinja's `tojson`, which escapes `<`, `>` and `&`). The pages load
one stylesheet and their scripts from this server (`static/`) and nothing from anywhere else: their CSP
allows no inline script at all. Live parts (upload progress, job stages, the list, the history) use the
JSON API.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib.resources import files

from fastapi.responses import HTMLResponse

from twitchcam.server.jobs import Job

# Our pages: scripts and the stylesheet from this server only (no inline script), results from this server.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
               "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
# The Record page's camera; no page needs the microphone or anything else.
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=()"
DOWNLOADS = (("report.html", "Report"), ("events.csv", "Events (CSV)"), ("frames.csv", "Per-frame signals (CSV)"),
             ("summary.json", "Summary (JSON)"), ("annotated.webm", "Annotated video"), ("timeline.png", "Timeline"))
STATIC_FILES = {  # name under /static/ → media type: nothing else is served from there
    "style.css": "text/css; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "jobs.js": "text/javascript; charset=utf-8",
    "upload.js": "text/javascript; charset=utf-8",
    "job.js": "text/javascript; charset=utf-8",
    "record.js": "text/javascript; charset=utf-8",
    "history.js": "text/javascript; charset=utf-8",
    "docs.js": "text/javascript; charset=utf-8",
}
SIDE_WORDS = {"left": "patient's left", "right": "patient's right", "both": "both sides", "none": "none"}
"""Sides as the pages say them: always the patient's own side, never a bare "left"."""
MAX_LABEL_CHARS = 120
MAX_NOTE_CHARS = 250  # 4-byte characters included, a note fits the upload's 1 KB field limit


@lru_cache(maxsize=1)
def environment():
    """The templates, autoescaped (`.html`) whatever their name, loaded once."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("twitchcam.server", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["side"] = side_words
    env.filters["when"] = when
    env.filters["megabytes"] = lambda n: f"{n / (1024 * 1024):.1f} MB"
    return env


def static_file(name: str) -> bytes | None:
    """One of `STATIC_FILES`, or None."""
    if name not in STATIC_FILES:
        return None
    return files("twitchcam.server").joinpath("static", name).read_bytes()


def side_words(side: str | None) -> str:
    return SIDE_WORDS.get(side or "none", str(side))


def when(t: float | None) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else ""


def render(template: str, *, sign_out: bool = False, **values) -> str:
    return environment().get_template(template).render(sign_out=sign_out, **values)


def html(body: str, status: int = 200, policy: str = PAGE_POLICY) -> HTMLResponse:
    return HTMLResponse(body, status, headers={"Content-Security-Policy": policy, "Cache-Control": "no-store",
                                               "Permissions-Policy": PERMISSIONS_POLICY})


def upload_page(max_bytes: int, *, sign_out: bool = False) -> str:
    from twitchcam.run.batch.plan import VIDEO_EXTENSIONS

    extensions = sorted(VIDEO_EXTENSIONS)
    return render("upload.html", sign_out=sign_out, extensions=extensions, max_bytes=max_bytes,
                  max_label=MAX_LABEL_CHARS, max_note=MAX_NOTE_CHARS,
                  data={"maxBytes": max_bytes, "extensions": extensions})


def jobs_page(query: str = "", *, sign_out: bool = False) -> str:
    return render("jobs.html", sign_out=sign_out, query=query)


def job_page(job: Job, steps: tuple[str, ...], *, sign_out: bool = False) -> str:
    return render("job.html", sign_out=sign_out, job=job, summary=job.summary or {}, downloads=DOWNLOADS,
                  steps=steps, data={"id": job.id, "status": job.status, "steps": list(steps)})


def record_page(protocols: dict[str, list[dict]], max_bytes: int, *, sign_out: bool = False) -> str:
    return render("record.html", sign_out=sign_out, protocols=protocols, max_label=MAX_LABEL_CHARS,
                  max_note=MAX_NOTE_CHARS, data={"protocols": protocols, "maxBytes": max_bytes})


def history_page(treatments: tuple[str, ...], *, sign_out: bool = False) -> str:
    return render("history.html", sign_out=sign_out, treatments=treatments,
                  today=dt.date.today().isoformat())


def no_docs_page() -> str:
    return render("message.html", title="API", heading="API", lines=[
        "The API's description page needs the fastapi-offline package (pip install 'twitchcam[all]').",
        "The description itself is at /openapi.json."], link=("/openapi.json", "Open /openapi.json"))


def not_found_page() -> str:
    return render("message.html", title="Not found", heading="No such video",
                  lines=["It may have been deleted."], link=("/", "Back to the upload page"))


def login_page(next_path: str, *, failed: bool, signed_out: bool = False) -> str:
    return render("login.html", next_path=next_path, failed=failed, signed_out=signed_out)
