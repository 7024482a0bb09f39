"""The HTML pages: upload, jobs list, one job (status, then report, annotated video and downloads), login.

Server-rendered strings with every value escaped; styles and the small scripts are inline, so the pages
fetch nothing from the network. Live parts (upload progress, job status, the list) use the JSON API.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape

from fastapi.responses import HTMLResponse

from twitchcam.server.jobs import DONE, FAILED, Job

# Our pages: own scripts and styles inline, results from this server only, nothing from elsewhere.
PAGE_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; media-src 'self'; frame-src 'self'; frame-ancestors 'none'; "
               "form-action 'self'; base-uri 'none'")
DOWNLOADS = (("report.html", "Report"), ("events.csv", "Events (CSV)"), ("frames.csv", "Per-frame signals (CSV)"),
             ("summary.json", "Summary (JSON)"), ("annotated.webm", "Annotated video"), ("timeline.png", "Timeline"))

CSS = """
:root { --ink:#1c2430; --muted:#5c6773; --line:#d9dee4; --bg:#f5f7f9; --accent:#1f5fa8; --ok:#1e7b4a;
  --bad:#b3261e; --warn:#8a5a00; --left:#c0392b; --right:#2471a3; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
  color:var(--ink); background:var(--bg); }
header.top { background:#fff; border-bottom:1px solid var(--line); }
header.top .in, main, footer { max-width:1040px; margin:0 auto; padding:0 20px; }
header.top .in { display:flex; align-items:center; gap:24px; height:56px; }
header.top .brand { font-weight:700; font-size:18px; color:var(--ink); text-decoration:none; }
header.top nav a { color:var(--muted); text-decoration:none; margin-right:16px; }
header.top nav a:hover { color:var(--accent); }
main { padding-top:24px; padding-bottom:24px; }
h1 { font-size:22px; margin:0 0 4px; word-break:break-word; } h2 { font-size:17px; margin:0 0 12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:20px; margin-bottom:20px; }
.muted { color:var(--muted); } .small { font-size:13px; }
.drop { border:2px dashed #a9b4c0; border-radius:8px; padding:32px 20px; text-align:center; background:#fafbfc;
  cursor:pointer; transition: background .15s, border-color .15s; }
.drop.over { background:#eaf2fb; border-color:var(--accent); }
.drop strong { display:block; font-size:17px; margin-bottom:4px; }
.drop .chosen { margin-top:10px; font-weight:600; word-break:break-all; }
.row { display:flex; align-items:center; gap:16px; flex-wrap:wrap; margin-top:16px; }
button, .btn { font:inherit; border:1px solid var(--accent); background:var(--accent); color:#fff;
  border-radius:6px; padding:8px 18px; cursor:pointer; text-decoration:none; display:inline-block; }
button:disabled { opacity:.45; cursor:default; }
.btn.light, button.light { background:#fff; color:var(--accent); }
button.danger { background:#fff; color:var(--bad); border-color:var(--bad); }
.bar { height:10px; background:#e6eaee; border-radius:5px; overflow:hidden; flex:1; min-width:200px; }
.bar > div { height:100%; background:var(--accent); width:0; transition: width .3s; }
.msg { margin-top:12px; } .msg.error { color:var(--bad); font-weight:600; }
table.list { width:100%; border-collapse:collapse; }
table.list th, table.list td { text-align:left; padding:8px 10px; border-bottom:1px solid var(--line);
  vertical-align:top; }
table.list th { font-size:13px; color:var(--muted); font-weight:600; }
table.list td a { color:var(--accent); text-decoration:none; word-break:break-all; }
.badge { display:inline-block; padding:2px 10px; border-radius:10px; font-size:13px; font-weight:600;
  background:#e6eaee; color:var(--ink); }
.badge.queued { background:#eef0f3; color:var(--muted); } .badge.running { background:#e3eefa; color:var(--accent); }
.badge.done { background:#e3f3ea; color:var(--ok); } .badge.failed { background:#fbe7e6; color:var(--bad); }
.status { display:flex; align-items:center; gap:14px; flex-wrap:wrap; }
.headline { font-size:17px; margin:4px 0 0; }
.downloads { gap:8px; }
video { width:100%; max-height:560px; background:#000; border-radius:6px; display:block; }
iframe.report { width:100%; height:1200px; border:1px solid var(--line); border-radius:6px; background:#fff; }
.error-box { background:#fbe7e6; border:1px solid #f0b8b4; color:var(--bad); padding:12px 14px; border-radius:6px; }
label.check { display:flex; gap:8px; align-items:center; }
input[type=password] { font:inherit; padding:8px 10px; border:1px solid var(--line); border-radius:6px; width:280px; }
footer { color:var(--muted); font-size:13px; padding-bottom:32px; }
form.sign-out { margin-left:auto; } button.link { background:none; border:none; color:var(--muted); padding:0;
  font:inherit; cursor:pointer; } button.link:hover { color:var(--accent); }
"""

JOBS_SCRIPT = """
function tcEsc(s) {
  const d = document.createElement('div'); d.textContent = s == null ? '' : String(s); return d.innerHTML;
}
function tcWhen(t) { return new Date(t * 1000).toLocaleString(); }
function tcResult(j) {
  if (j.status === 'failed') return '<span class="small" style="color:var(--bad)">' + tcEsc(j.error) + '</span>';
  if (j.status === 'running') return Math.round(100 * j.progress) + '% done';
  if (j.status !== 'done' || !j.summary) return '';
  const s = j.summary;
  return s.n_events + ' event' + (s.n_events === 1 ? '' : 's') + ', side: ' + tcEsc(s.affected_side);
}
async function tcRefreshJobs() {
  const body = document.getElementById('jobs-body');
  if (!body) return;
  try {
    const r = await fetch('/api/jobs', {headers: {'Accept': 'application/json'}});
    if (!r.ok) return;
    const jobs = await r.json();
    body.innerHTML = jobs.length ? jobs.map(j =>
      '<tr><td><a href="/jobs/' + encodeURIComponent(j.id) + '">' + tcEsc(j.name) + '</a></td>' +
      '<td>' + tcWhen(j.created) + '</td><td><span class="badge ' + tcEsc(j.status) + '">' + tcEsc(j.status) +
      '</span></td><td>' + tcResult(j) + '</td></tr>').join('')
      : '<tr><td colspan="4" class="muted">No videos yet.</td></tr>';
  } catch (e) {}
}
tcRefreshJobs(); setInterval(tcRefreshJobs, 2000);
"""

UPLOAD_SCRIPT = """
const tcMax = MAX_BYTES, tcExts = EXTENSIONS;
const drop = document.getElementById('drop'), input = document.getElementById('file');
const go = document.getElementById('go'), chosen = document.getElementById('chosen');
const msg = document.getElementById('msg'), bar = document.getElementById('bar');
const barRow = document.getElementById('bar-row'), pct = document.getElementById('pct');
let tcFile = null;
function tcSay(text, isError) { msg.textContent = text; msg.className = 'msg' + (isError ? ' error' : ''); }
function tcMB(n) { return (n / 1048576).toFixed(1) + ' MB'; }
function tcChoose(file) {
  tcFile = null; go.disabled = true; chosen.textContent = '';
  if (!file) return;
  const ext = file.name.includes('.') ? file.name.slice(file.name.lastIndexOf('.')).toLowerCase() : '';
  if (!tcExts.includes(ext)) { tcSay(file.name + ' is not a video file (' + tcExts.join(', ') + ').', true); return; }
  if (file.size === 0) { tcSay(file.name + ' is empty.', true); return; }
  if (file.size > tcMax) {
    tcSay(file.name + ' is ' + tcMB(file.size) + '; this server accepts up to ' + tcMB(tcMax) + '.', true); return;
  }
  tcFile = file; go.disabled = false; chosen.textContent = file.name + ' (' + tcMB(file.size) + ')'; tcSay('', false);
}
drop.addEventListener('click', () => input.click());
drop.addEventListener('keydown', e => {
  if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); }
});
input.addEventListener('change', () => tcChoose(input.files[0]));
['dragenter', 'dragover'].forEach(t => drop.addEventListener(t, e => {
  e.preventDefault(); drop.classList.add('over');
}));
['dragleave', 'drop'].forEach(t => drop.addEventListener(t, e => {
  e.preventDefault(); drop.classList.remove('over');
}));
drop.addEventListener('drop', e => { if (e.dataTransfer.files.length) tcChoose(e.dataTransfer.files[0]); });
document.getElementById('upload-form').addEventListener('submit', e => {
  e.preventDefault();
  if (!tcFile) return;
  const form = new FormData();
  form.append('file', tcFile, tcFile.name);
  form.append('mirrored', document.getElementById('mirrored').checked ? 'true' : 'false');
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/api/jobs');
  xhr.responseType = 'json';
  xhr.upload.addEventListener('progress', ev => {
    if (!ev.lengthComputable) return;
    const p = Math.round(100 * ev.loaded / ev.total);
    bar.style.width = p + '%'; pct.textContent = 'Uploading: ' + p + '%';
  });
  xhr.upload.addEventListener('load', () => { pct.textContent = 'Checking the video…'; });
  xhr.addEventListener('load', () => {
    if (xhr.status === 201 && xhr.response && xhr.response.id) {
      pct.textContent = 'Uploaded.'; window.location.href = '/jobs/' + encodeURIComponent(xhr.response.id);
    } else {
      barRow.hidden = true; go.disabled = false;
      tcSay('Refused: ' + ((xhr.response && xhr.response.detail) || ('error ' + xhr.status)), true);
    }
  });
  xhr.addEventListener('error', () => {
    barRow.hidden = true; go.disabled = false; tcSay('The upload failed (connection lost).', true);
  });
  go.disabled = true; barRow.hidden = false; bar.style.width = '0'; tcSay('', false);
  xhr.send(form);
});
"""

JOB_SCRIPT = """
const tcJob = JOB_ID;
async function tcPoll() {
  try {
    const r = await fetch('/api/jobs/' + encodeURIComponent(tcJob), {headers: {'Accept': 'application/json'}});
    if (r.status === 404) { window.location.href = '/'; return; }
    if (r.ok) {
      const j = await r.json();
      if (j.status === 'done' || j.status === 'failed') { window.location.reload(); return; }
      const p = Math.round(100 * j.progress);
      document.getElementById('badge').textContent = j.status;
      document.getElementById('badge').className = 'badge ' + j.status;
      document.getElementById('bar').style.width = p + '%';
      document.getElementById('stage').textContent = j.status === 'running' ? p + '% done: ' + j.stage
        : (j.stage || 'waiting for a free worker');
    }
  } catch (e) {}
  setTimeout(tcPoll, 1000);
}
if (LIVE) setTimeout(tcPoll, 1000);
"""

DELETE_SCRIPT = """
document.getElementById('delete').addEventListener('click', async () => {
  if (!confirm('Delete this video and all its results?')) return;
  const r = await fetch('/api/jobs/' + encodeURIComponent(JOB_ID), {method: 'DELETE'});
  if (r.ok || r.status === 404) window.location.href = '/';
});
"""

REPORT_FIT_SCRIPT = """
const tcFrame = document.getElementById('report');
if (tcFrame) tcFrame.addEventListener('load', () => {
  try { tcFrame.style.height = (tcFrame.contentDocument.documentElement.scrollHeight + 24) + 'px'; } catch (e) {}
});
"""


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status, headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store"})


SIGN_OUT = ('<form method="post" action="/logout" class="sign-out"><button type="submit" class="link">Sign out'
            '</button></form>')


def _layout(title: str, content: str, script: str = "", *, sign_out: bool = False) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · twitchcam</title><style>{CSS}</style></head>
<body><header class="top"><div class="in"><a class="brand" href="/">twitchcam</a>
<nav><a href="/">Upload</a><a href="/jobs">Videos</a><a href="/docs">API</a></nav>{SIGN_OUT if sign_out else ""}
</div></header>
<main>{content}</main>
<footer>twitchcam reports <em>candidate</em> one-sided facial spasms measured from face landmarks. It is not a
diagnosis: it cannot tell hemifacial spasm from other one-sided movements (a wink, a tic, facial palsy).</footer>
{f"<script>{script}</script>" if script else ""}
</body></html>"""


def _jobs_table(title: str) -> str:
    return f"""<section class="card"><h2>{escape(title)}</h2>
<table class="list"><thead><tr><th>Video</th><th>Uploaded</th><th>Status</th><th>Result</th></tr></thead>
<tbody id="jobs-body"><tr><td colspan="4" class="muted">Loading…</td></tr></tbody></table></section>"""


def upload_page(max_bytes: int, *, sign_out: bool = False) -> str:
    from twitchcam.run.batch.plan import VIDEO_EXTENSIONS

    extensions = sorted(VIDEO_EXTENSIONS)
    script = (UPLOAD_SCRIPT.replace("MAX_BYTES", str(max_bytes)).replace("EXTENSIONS", json.dumps(extensions))
              + JOBS_SCRIPT)
    content = f"""<section class="card"><h1>Analyse a face video</h1>
<p class="muted">The video is analysed on this computer for one-sided facial spasms. You will see the report,
the annotated video and the result files when it is done.</p>
<form id="upload-form">
<div id="drop" class="drop" tabindex="0" role="button" aria-label="Choose a video">
<strong>Drop a video here, or click to choose one</strong>
<span class="muted small">{escape(", ".join(e.lstrip(".") for e in extensions))}, up to
{max_bytes / (1024 * 1024):g} MB</span>
<div id="chosen" class="chosen"></div></div>
<input id="file" name="file" type="file" accept="{escape(",".join(extensions))},video/*" hidden>
<div class="row"><label class="check"><input id="mirrored" name="mirrored" type="checkbox">
Mirrored recording (selfie camera preview: left and right are swapped)</label></div>
<div class="row"><button id="go" type="submit" disabled>Upload and analyse</button>
<div id="bar-row" class="row" style="margin:0;flex:1" hidden><div class="bar"><div id="bar"></div></div>
<span id="pct" class="small muted"></span></div></div>
<div id="msg" class="msg" role="status"></div>
</form></section>
{_jobs_table("Recent videos")}"""
    return _layout("Upload", content, script, sign_out=sign_out)


def jobs_page(*, sign_out: bool = False) -> str:
    return _layout("Videos", _jobs_table("Videos"), JOBS_SCRIPT, sign_out=sign_out)


def _when(t: float | None) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else ""


def _headline(summary: dict) -> str:
    n, side = summary.get("n_events", 0), summary.get("affected_side", "none")
    if not n:
        return "No one-sided spasm found."
    where = {"left": "on the left side", "right": "on the right side", "both": "on both sides"}.get(side, "")
    return (f"<strong>{n} candidate spasm{'s' if n != 1 else ''}</strong> {escape(where)} — "
            f"{summary.get('events_per_min', 0):.1f} per minute, {summary.get('spasm_percent', 0):.1f}% of the time "
            f"in a {summary.get('duration_s', 0):.0f} s recording.")


def _quality(warnings: str) -> str:
    if not warnings:
        return ""
    return f'<p class="small" style="color:var(--warn)">Recording quality:</p><ul class="small">{warnings}</ul>'


def job_page(job: Job, *, sign_out: bool = False) -> str:
    base = f"/api/jobs/{job.id}/files"
    meta = (f"Uploaded {_when(job.created)} · {job.size_bytes / (1024 * 1024):.1f} MB"
            f"{' · mirrored recording' if job.mirrored else ''}")
    percent = round(100 * job.progress)
    if job.status == DONE:
        summary = job.summary or {}
        warnings = "".join(f"<li>{escape(w)}</li>" for w in summary.get("quality_warnings", []))
        downloads = "".join(f'<a class="btn light" href="{base}/{name}?download=1" download>{escape(label)}</a>'
                            for name, label in DOWNLOADS)
        body = f"""<section class="card"><div class="status"><span id="badge" class="badge done">done</span>
<span class="muted small">analysed {_when(job.finished)}</span></div>
<p class="headline">{_headline(summary)}</p>
{_quality(warnings)}
<div class="downloads row">{downloads}</div></section>
<section class="card"><h2>Annotated video</h2>
<video id="annotated" controls preload="metadata" src="{base}/annotated.webm"></video>
<p class="small muted">Outlines of the tracked face, per-side movement bars, and a banner during each spasm.</p>
</section>
<section class="card"><h2>Report</h2>
<iframe id="report" class="report" title="Report" src="{base}/report.html" sandbox="allow-same-origin"></iframe>
</section>"""
    elif job.status == FAILED:
        body = f"""<section class="card"><div class="status"><span id="badge" class="badge failed">failed</span></div>
<p class="error-box" id="error">{escape(job.error or "unknown reason")}</p></section>"""
    else:
        stage = (f"{percent}% done: {job.stage}" if job.status == "running"
                 else job.stage or "waiting for a free worker")
        body = f"""<section class="card"><div class="status"><span id="badge" class="badge {escape(job.status)}">
{escape(job.status)}</span><div class="bar"><div id="bar" style="width:{percent}%"></div></div></div>
<p id="stage" class="muted">{escape(stage)}</p>
<p class="small muted">This page updates by itself; you can leave it and come back later.</p></section>"""
    content = f"""<h1>{escape(job.name)}</h1><p class="muted small">{escape(meta)}</p>{body}
<p><button id="delete" class="danger" type="button">Delete this video and its results</button></p>"""
    live = "true" if job.status not in (DONE, FAILED) else "false"
    script = JOB_SCRIPT + DELETE_SCRIPT + REPORT_FIT_SCRIPT
    script = script.replace("JOB_ID", json.dumps(job.id)).replace("LIVE", live)
    return _layout(job.name, content, script, sign_out=sign_out)


def no_docs_page() -> str:
    return _layout("API", '<section class="card"><h1>API</h1><p>The API\'s description page needs the '
                          '<code>fastapi-offline</code> package (<code>pip install \'twitchcam[all]\'</code>). '
                          'The description itself is at <a href="/openapi.json">/openapi.json</a>.</p></section>')


def not_found_page() -> str:
    return _layout("Not found", '<section class="card"><h1>No such video</h1><p>It may have been deleted. '
                                '<a href="/">Back to the upload page</a>.</p></section>')


def login_page(next_path: str, *, failed: bool, signed_out: bool = False) -> str:
    error = '<p class="msg error">That token is not right.</p>' if failed else ""
    if signed_out:
        error = '<p class="msg">You are signed out.</p>'
    content = f"""<section class="card"><h1>Sign in</h1>
<p class="muted">This twitchcam server needs the token it was started with (<code>--token</code>).</p>
<form method="post" action="/login"><input type="hidden" name="next" value="{escape(next_path)}">
<div class="row"><input type="password" name="token" autocomplete="current-password" placeholder="Token" required
autofocus><button type="submit">Sign in</button></div>{error}</form></section>"""
    return _layout("Sign in", content)
