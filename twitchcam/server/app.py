"""The FastAPI application: the JSON API under /api, and the pages a clinician uses in the browser.

`create_app(settings)` builds one app around one job store and one worker pool; the pool starts and
stops with the app (uvicorn's lifespan). Request handlers only receive uploads and read the store: every
analysis runs in the pool's worker processes. Every response carries `Cache-Control: no-store` (patient
data stays out of the browser's disk cache), a CSP, and a referrer policy that keeps our own writes'
Origin header (`same-origin`: other sites get no referrer).
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from twitchcam import __version__
from twitchcam.server import diary, pages
from twitchcam.server.docs import add_docs
from twitchcam.server.files import make_private, private_dir, real_file
from twitchcam.server.jobs import DONE, RUNNING, Job, JobStore, new_job_id
from twitchcam.server.pool import RESULTS_DIR, STEPS, WorkerPool, remove_partial_results
from twitchcam.server.security import refusal, safe_next, token_matches
from twitchcam.server.sessions import COOKIE, SESSION_TTL_S, Sessions
from twitchcam.server.settings import ServerSettings
from twitchcam.server.uploads import FILE_FIELD, UploadCutOff, UploadRefused, check_video, receive_upload

log = logging.getLogger(__name__)

# The only files a job's results can be downloaded as: name → media type. Anything else is 404.
RESULT_FILES = {
    "events.csv": "text/csv; charset=utf-8",
    "frames.csv": "text/csv; charset=utf-8",
    "summary.json": "application/json",
    "report.html": "text/html; charset=utf-8",
    "timeline.png": "image/png",
    "annotated.webm": "video/webm",
}
# report.html is ours and has no scripts; it may show only its own inline styles and embedded pictures.
REPORT_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
# Everything else the server sends (JSON, result files, Swagger UI's assets) may show and run nothing.
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'"
TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
LEGACY_COOKIE = "twitchcam_token"  # what versions before sessions kept: the token itself; deleted at sign-in
LOGIN_FORM_LIMITS = {"max_files": 0, "max_fields": 4, "max_part_size": 4096}
MAX_JSON_BYTES = 4096  # a treatment is ~100 bytes
MAX_QUERY_CHARS = 200


class JobOut(BaseModel):
    """A job as the API returns it."""

    id: str
    name: str
    status: str
    """queued, running, done or failed"""
    stage: str
    """What is under way, in words: "analysing frame 120 of 720", "writing the annotated video", …"""
    step: str
    """The stage under way while running: analysing, writing the annotated video, writing the report"""
    step_done: int
    step_total: int
    """Progress within `step` (frames; 0 of 1 then 1 of 1 for the report); total 0 when unknown"""
    progress: float
    """0–1, all stages together"""
    error: str | None
    advice: str | None
    """For a failed job: what to do next"""
    summary: dict | None
    """summary.json once done"""
    label: str
    """The patient or visit label given with the upload"""
    note: str
    recorded: bool
    """Recorded with the Record page's camera"""
    protocol: str
    """The guided protocol followed ('rest'), or ''"""
    diary: bool
    """Sent to the patient's diary"""
    session_id: int | None
    """The diary session it became, once done"""
    diary_error: str | None
    mirrored: bool
    size_bytes: int
    frames_total: int
    attempts: int
    created: float
    started: float | None
    finished: float | None


class JobCreated(BaseModel):
    id: str
    status: str


class TreatmentIn(BaseModel):
    """A treatment to add to the diary (sides are the patient's own)."""

    kind: str
    """botox, surgery, medication or other"""
    date: str
    """YYYY-MM-DD"""
    side: str | None = None
    """left, right, both, or null"""
    note: str | None = None


class TreatmentOut(TreatmentIn):
    id: int


class HistoryRow(BaseModel):
    """One diary session, with the columns of `twitchcam history --csv`."""

    session: int
    date: str
    minutes: float
    spasms_per_min: float
    percent_time_in_spasm: float
    affected_side: str
    protocol: str
    note: str


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FILE_FIELD],
    "properties": {FILE_FIELD: {"type": "string", "format": "binary", "description": "the video"},
                   "mirrored": {"type": "boolean", "description": "the recording is a mirror image"},
                   "diary": {"type": "boolean", "description": "add the result to the patient's diary"},
                   "label": {"type": "string", "maxLength": pages.MAX_LABEL_CHARS,
                             "description": "patient or visit label (shown in the list, searchable)"},
                   "note": {"type": "string", "description": "a note (at most 1 KB)"},
                   "recorded": {"type": "boolean", "description": "recorded on the Record page"},
                   "protocol": {"type": "string", "description": "the guided protocol followed: rest, or empty"}}}}}}}
TREATMENT_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": TreatmentIn.model_json_schema(),
    "example": {"kind": "botox", "date": "2026-11-03", "side": "left", "note": ""}}}}}


def _flag(fields: dict[str, str], name: str) -> bool:
    return fields.get(name, "").strip().lower() in TRUE_WORDS


def job_fields(fields: dict[str, str]) -> dict:
    """The job's label, note, diary and recording fields from the upload form; `UploadRefused` when bad."""
    from twitchcam.run.live.protocol import PROTOCOLS

    label = " ".join(fields.get("label", "").split())
    if len(label) > pages.MAX_LABEL_CHARS:
        raise UploadRefused(400, f"the label is longer than {pages.MAX_LABEL_CHARS} characters")
    if any(not ch.isprintable() for ch in label):
        raise UploadRefused(400, "the label holds control characters")
    protocol = fields.get("protocol", "").strip()
    if protocol and protocol not in PROTOCOLS:
        raise UploadRefused(400, f"unknown protocol {protocol[:40]!r}: use {', '.join(PROTOCOLS)}, or none")
    note = "".join(ch for ch in fields.get("note", "") if ch.isprintable() or ch in "\n\t").strip()
    return {"label": label, "note": note, "diary": _flag(fields, "diary"), "recorded": _flag(fields, "recorded"),
            "protocol": protocol, "mirrored": _flag(fields, "mirrored")}


async def read_json(request: Request, max_bytes: int = MAX_JSON_BYTES) -> object:
    """The request's JSON body, read up to `max_bytes` (413 past it); 415 for another content type, 400 when
    it is not JSON."""
    import json

    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, "send the treatment as JSON (Content-Type: application/json)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise HTTPException(413, f"the request is larger than {max_bytes} bytes", headers={"Connection": "close"})
    try:
        return json.loads(body)
    except ValueError as err:
        raise HTTPException(400, f"the body is not valid JSON: {err}") from err



def create_app(settings: ServerSettings) -> FastAPI:
    """The web application for `settings`; its worker pool runs while the app is being served."""
    store = JobStore(settings.database)
    keeper = diary.DiaryKeeper(settings.diary_path, store, settings.jobs_dir)
    pool = WorkerPool(settings, store, on_done=keeper)
    sessions = Sessions()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        shutil.rmtree(settings.uploads_dir, ignore_errors=True)  # uploads cut off by the last stop
        make_private(private_dir(settings.jobs_dir))  # also what an older version or a looser umask left
        for job_id in store.recover():
            log.warning("job %s was running when the server stopped", job_id)
        remove_partial_results(settings.jobs_dir)  # of those jobs: failed ones keep none, requeued ones redo them
        keeper.catch_up()  # done jobs the last stop kept out of the diary
        pool.start()
        try:
            yield
        finally:
            pool.stop()
            store.close()

    app = FastAPI(title="twitchcam", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  description="Upload face videos, follow their analysis for one-sided facial spasms, and "
                              "download the results. Not a diagnosis.")
    app.state.settings, app.state.store, app.state.pool, app.state.sessions = settings, store, pool, sessions
    signed = settings.token is not None  # the pages offer "Sign out"

    @app.middleware("http")
    async def guard(request: Request, call_next):
        refused = refusal(request, settings, sessions)
        if refused is not None:
            response = refused
        else:
            try:
                response = await call_next(request)
            except ClientDisconnect:  # one line, not uvicorn's "Exception in ASGI application" traceback
                log.warning("%s %s: the client disconnected before sending its whole request",
                            request.method, request.url.path)
                return Response(status_code=400, headers={"Connection": "close"})
        for name, value in (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                            ("Cache-Control", "no-store"), ("Content-Security-Policy", DEFAULT_POLICY)):
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(UploadRefused)
    async def upload_refused(request: Request, err: UploadRefused) -> JSONResponse:
        if isinstance(err, UploadCutOff):
            log.warning("upload dropped: %s; nothing was kept", err)
        # The rest of the body is not read: closing is the only way not to take it in after all.
        return JSONResponse({"detail": str(err)}, err.status, headers={"Connection": "close"})

    add_docs(app)

    def job_or_404(job_id: str) -> Job:
        job = store.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job")
        return job

    # ---- JSON API ----------------------------------------------------------------------------------------

    @app.post("/api/jobs", status_code=201, response_model=JobCreated, openapi_extra=UPLOAD_BODY,
              responses={400: {"description": "empty or malformed upload"}, 413: {"description": "too large"},
                         422: {"description": "not a video twitchcam can read"},
                         507: {"description": "no room on the server's disk to store it"}})
    async def create_job(request: Request) -> JSONResponse:
        """Upload a video (multipart field `file`) and queue its analysis. Optional fields: `mirrored`, `diary`
        (add the result to the patient's diary), `label` (patient or visit), `note`, `recorded` and `protocol`
        (sent by the Record page)."""
        upload = await receive_upload(request, settings.uploads_dir, settings.max_upload_bytes, settings.upload_idle_s)
        folder: Path | None = None
        try:
            fields = job_fields(upload.fields)
            frames = await run_in_threadpool(check_video, upload)
            job = Job(id=new_job_id(), name=upload.name, ext=upload.ext, size_bytes=upload.size_bytes,
                      frames_total=frames, **fields)
            folder = settings.jobs_dir / job.id
            private_dir(folder)
            os.replace(upload.path, folder / job.input_name)
            store.add(job)
        except BaseException:
            upload.discard()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        pool.wake()
        return JSONResponse({"id": job.id, "status": job.status}, 201, headers={"Location": f"/api/jobs/{job.id}"})

    @app.get("/api/jobs", response_model=list[JobOut])
    def list_jobs(q: str = Query("", max_length=MAX_QUERY_CHARS,
                                 description="only jobs whose label contains this text (any case)")) -> list[dict]:
        """Every job, newest first (with `q`: those whose label contains it)."""
        return [job.public() for job in store.all(q)]

    @app.get("/api/jobs/{job_id}", response_model=JobOut, responses={404: {"description": "no such job"}})
    def get_job(job_id: str) -> dict:
        """A job's status (queued, running, done, failed), its stage and progress, its label and note, the error
        and what to do next when it failed, and its summary once done."""
        return job_or_404(job_id).public()

    @app.get("/api/jobs/{job_id}/files/{name}", response_class=FileResponse,
             responses={404: {"description": "no such job, not finished, or not a result file"}})
    def get_file(job_id: str, name: str, download: bool = False) -> FileResponse:
        """A result file: events.csv, frames.csv, summary.json, report.html, timeline.png or annotated.webm."""
        if name not in RESULT_FILES:
            raise HTTPException(404, f"not a result file; available: {', '.join(RESULT_FILES)}")
        job = job_or_404(job_id)
        if job.status != DONE:
            raise HTTPException(404, f"{name} is not available (the job is {job.status})")
        path = real_file(settings.jobs_dir, job.id, RESULTS_DIR, name)  # None for a symlink anywhere on the way
        if path is None:
            raise HTTPException(404, f"{name} is not available (missing, or not a regular file)")
        headers = {"Content-Security-Policy": REPORT_POLICY} if name == "report.html" else {}
        filename = f"{Path(job.name).stem}_{name}" if download else None
        return FileResponse(path, media_type=RESULT_FILES[name], filename=filename, headers=headers,
                            content_disposition_type="attachment" if download else "inline")

    @app.delete("/api/jobs/{job_id}", status_code=204, responses={404: {"description": "no such job"}})
    def delete_job(job_id: str) -> Response:
        """Remove a job and all its files (a running analysis is stopped)."""
        job = store.delete(job_id)
        if job is None:
            raise HTTPException(404, "no such job")
        if job.status == RUNNING:
            pool.cancel(job.id)
        shutil.rmtree(settings.jobs_dir / job.id, ignore_errors=True)
        return Response(status_code=204)

    # ---- the diary ---------------------------------------------------------------------------------------

    diary_path = settings.diary_path

    @app.get("/api/history", response_model=list[HistoryRow])
    def get_history() -> list[dict]:
        """The diary's sessions, oldest first, with the columns of `twitchcam history --csv`."""
        return diary.history_rows(diary_path)

    @app.get("/api/history/plot.png", response_class=Response, responses={
        200: {"content": {"image/png": {}}}, 404: {"description": "no session in the diary yet"}})
    def get_history_plot() -> Response:
        """The trend: spasms per minute and % of time in spasm per session, with the treatments marked."""
        png = diary.history_plot_png(diary_path)
        if png is None:
            raise HTTPException(404, "no session in the diary yet")
        return Response(png, media_type="image/png")

    @app.delete("/api/history/{session_id}", status_code=204, responses={404: {"description": "no such session"}})
    def delete_session(session_id: int) -> Response:
        """Remove a session from the diary, with everything stored with it (the job and its video stay)."""
        if not diary.delete_session(diary_path, session_id):
            raise HTTPException(404, f"no session {session_id} in the diary")
        store.forget_session(session_id)
        return Response(status_code=204)

    @app.get("/api/treatments", response_model=list[TreatmentOut])
    def get_treatments() -> list[dict]:
        """The diary's treatments, oldest first."""
        return diary.treatment_rows(diary_path)

    @app.post("/api/treatments", status_code=201, response_model=TreatmentOut, openapi_extra=TREATMENT_BODY,
              responses={400: {"description": "not valid JSON"}, 413: {"description": "too large"},
                         415: {"description": "not JSON"}, 422: {"description": "not a valid treatment"}})
    async def add_treatment(request: Request) -> JSONResponse:
        """Add a treatment: `{"kind": "botox", "date": "2026-11-03", "side": "left", "note": ""}` (kind: botox,
        surgery, medication or other; side: the patient's left, right, both, or null)."""
        data = await read_json(request)
        try:
            added = await run_in_threadpool(diary.add_treatment, diary_path, data)
        except diary.InvalidInput as err:
            raise HTTPException(422, str(err)) from err
        return JSONResponse(added, 201)

    # ---- pages -------------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def upload_page() -> HTMLResponse:
        return pages.html(pages.upload_page(settings.max_upload_bytes, sign_out=signed))

    @app.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
    def jobs_page(q: str = Query("", max_length=MAX_QUERY_CHARS)) -> HTMLResponse:
        return pages.html(pages.jobs_page(q, sign_out=signed))

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(job_id: str) -> HTMLResponse:
        job = store.get(job_id)
        if job is None:
            return pages.html(pages.not_found_page(), 404)
        return pages.html(pages.job_page(job, STEPS, sign_out=signed))

    @app.get("/record", response_class=HTMLResponse, include_in_schema=False)
    def record_page() -> HTMLResponse:
        from twitchcam.run.live.protocol import PROTOCOLS

        protocols = {name: diary.protocol_steps(name) for name in PROTOCOLS}
        return pages.html(pages.record_page(protocols, settings.max_upload_bytes, sign_out=signed))

    @app.get("/history", response_class=HTMLResponse, include_in_schema=False)
    def history_page() -> HTMLResponse:
        from twitchcam.store.diary import TREATMENTS

        return pages.html(pages.history_page(TREATMENTS, sign_out=signed))

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        content = pages.static_file(name)
        if content is None:
            raise HTTPException(404, "no such file")
        return Response(content, media_type=pages.STATIC_FILES[name])

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(next: str = "/") -> HTMLResponse:
        return pages.html(pages.login_page(safe_next(next), failed=False))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        """Check the token and give the browser a session id (never the token: cookies reach every port)."""
        form = await request.form(**LOGIN_FORM_LIMITS)
        target = safe_next(str(form.get("next", "/")))
        if settings.token is None or not token_matches(str(form.get("token", "")), settings.token):
            return pages.html(pages.login_page(target, failed=True), 401)
        response = RedirectResponse(target, 303)
        response.set_cookie(COOKIE, sessions.start(), max_age=SESSION_TTL_S, httponly=True, samesite="strict")
        response.delete_cookie(LEGACY_COOKIE)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        """End this browser's session: its id is refused from now on."""
        sessions.end(request.cookies.get(COOKIE))
        response = pages.html(pages.login_page("/", failed=False, signed_out=True))
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    return app
