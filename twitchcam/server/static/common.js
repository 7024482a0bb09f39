// Shared by every page: escaping, sides in words, the page's data, and sending a video as a job.
'use strict';
function tcEsc(s) {
  const d = document.createElement('div'); d.textContent = s == null ? '' : String(s); return d.innerHTML;
}
function tcWhen(t) { return new Date(t * 1000).toLocaleString(); }
const TC_SIDES = {left: "patient's left", right: "patient's right", both: 'both sides', none: 'none'};
function tcSide(side) { return TC_SIDES[side || 'none'] || String(side); }
function tcData() {
  const node = document.getElementById('page-data');
  return node ? JSON.parse(node.textContent) : {};
}
function tcMB(n) { return (n / 1048576).toFixed(1) + ' MB'; }
// POST a video and its fields to /api/jobs with upload progress; resolves with the created job's id, or
// rejects with the server's reason. `onProgress(percent)` while the bytes go out; `onChecking()` after.
function tcSendJob(blob, name, fields, onProgress, onChecking) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('file', blob, name);
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/jobs');
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', ev => {
      if (ev.lengthComputable) onProgress(Math.round(100 * ev.loaded / ev.total));
    });
    xhr.upload.addEventListener('load', () => onChecking());
    xhr.addEventListener('load', () => {
      if (xhr.status === 201 && xhr.response && xhr.response.id) resolve(xhr.response.id);
      else reject(new Error((xhr.response && xhr.response.detail) || ('error ' + xhr.status)));
    });
    xhr.addEventListener('error', () => reject(new Error('the upload failed (connection lost)')));
    xhr.send(form);
  });
}
