// The upload page: choose or drop a video, then send it with its label, note and diary choice.
'use strict';
(function () {
  const data = tcData(), tcMax = data.maxBytes, tcExts = data.extensions;
  const drop = document.getElementById('drop'), input = document.getElementById('file');
  const go = document.getElementById('go'), chosen = document.getElementById('chosen');
  const msg = document.getElementById('msg'), bar = document.getElementById('bar');
  const barRow = document.getElementById('bar-row'), pct = document.getElementById('pct');
  let file = null;
  function say(text, isError) { msg.textContent = text; msg.className = 'msg' + (isError ? ' error' : ''); }
  function choose(f) {
    file = null; go.disabled = true; chosen.textContent = '';
    if (!f) return;
    const ext = f.name.includes('.') ? f.name.slice(f.name.lastIndexOf('.')).toLowerCase() : '';
    if (!tcExts.includes(ext)) { say(f.name + ' is not a video file (' + tcExts.join(', ') + ').', true); return; }
    if (f.size === 0) { say(f.name + ' is empty.', true); return; }
    if (f.size > tcMax) { say(f.name + ' is ' + tcMB(f.size) + '; this server accepts up to ' + tcMB(tcMax) + '.', true); return; }
    file = f; go.disabled = false; chosen.textContent = f.name + ' (' + tcMB(f.size) + ')'; say('', false);
  }
  drop.addEventListener('click', () => input.click());
  drop.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); } });
  input.addEventListener('change', () => choose(input.files[0]));
  ['dragenter', 'dragover'].forEach(t => drop.addEventListener(t, e => { e.preventDefault(); drop.classList.add('over'); }));
  ['dragleave', 'drop'].forEach(t => drop.addEventListener(t, e => { e.preventDefault(); drop.classList.remove('over'); }));
  drop.addEventListener('drop', e => { if (e.dataTransfer.files.length) choose(e.dataTransfer.files[0]); });
  document.getElementById('upload-form').addEventListener('submit', async e => {
    e.preventDefault();
    if (!file) return;
    go.disabled = true; barRow.hidden = false; bar.style.width = '0'; say('', false);
    const fields = {
      mirrored: document.getElementById('mirrored').checked ? 'true' : 'false',
      diary: document.getElementById('diary').checked ? 'true' : 'false',
      label: document.getElementById('label').value.trim(),
      note: document.getElementById('note').value.trim(),
    };
    try {
      const id = await tcSendJob(file, file.name, fields,
        p => { bar.style.width = p + '%'; pct.textContent = 'Uploading: ' + p + '%'; },
        () => { pct.textContent = 'Checking the video…'; });
      pct.textContent = 'Uploaded.'; window.location.href = '/jobs/' + encodeURIComponent(id);
    } catch (err) {
      barRow.hidden = true; go.disabled = false; say('Refused: ' + err.message, true);
    }
  });
})();
