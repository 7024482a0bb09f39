// The History page: the diary's sessions (delete one), the trend plot, the treatments (add one).
'use strict';
(function () {
  const KINDS = {botox: 'Botox', surgery: 'Surgery', medication: 'Medication', other: 'Other'};
  function num(x, digits) { return x == null ? '' : Number(x).toFixed(digits); }
  async function getJSON(url) {
    const r = await fetch(url, {headers: {'Accept': 'application/json'}});
    if (!r.ok) throw new Error('error ' + r.status);
    return r.json();
  }
  function showPlot(hasSessions) {
    const img = document.getElementById('trend');
    document.getElementById('no-plot').hidden = hasSessions;
    img.hidden = !hasSessions;
    if (hasSessions) img.src = '/api/history/plot.png?t=' + Date.now();
  }
  async function loadSessions() {
    const body = document.getElementById('sessions-body');
    const rows = await getJSON('/api/history');
    body.innerHTML = rows.length ? rows.slice().reverse().map(s =>
      '<tr data-session="' + tcEsc(s.session) + '"><td>' + tcEsc(s.session) + '</td><td>' + tcEsc(s.date) + '</td>' +
      '<td class="num">' + num(s.minutes, 1) + '</td><td class="num spm">' + num(s.spasms_per_min, 2) + '</td>' +
      '<td class="num">' + num(s.percent_time_in_spasm, 1) + '</td><td>' + tcEsc(tcSide(s.affected_side)) + '</td>' +
      '<td>' + tcEsc(s.protocol) + '</td><td class="note">' + tcEsc(s.note) + '</td>' +
      '<td><button type="button" class="danger small delete-session">Delete</button></td></tr>').join('')
      : '<tr><td colspan="9" class="muted">No sessions yet: <a href="/record">record one</a>.</td></tr>';
    showPlot(rows.length > 0);
  }
  async function loadTreatments() {
    const rows = await getJSON('/api/treatments');
    document.getElementById('treatments-body').innerHTML = rows.length ? rows.slice().reverse().map(t =>
      '<tr><td>' + tcEsc(t.date) + '</td><td>' + tcEsc(KINDS[t.kind] || t.kind) + '</td><td>' +
      tcEsc(t.side ? tcSide(t.side) : '') + '</td><td class="note">' + tcEsc(t.note) + '</td></tr>').join('')
      : '<tr><td colspan="4" class="muted">No treatments yet.</td></tr>';
  }
  document.getElementById('sessions-body').addEventListener('click', async e => {
    const button = e.target.closest('.delete-session');
    if (!button) return;
    const id = button.closest('tr').dataset.session;
    if (!confirm('Delete session ' + id + ' and everything stored with it from the diary?')) return;
    const r = await fetch('/api/history/' + encodeURIComponent(id), {method: 'DELETE'});
    if (r.ok || r.status === 404) loadSessions();
  });
  document.getElementById('treatment-form').addEventListener('submit', async e => {
    e.preventDefault();
    const msg = document.getElementById('treatment-msg');
    const treatment = {kind: document.getElementById('kind').value, date: document.getElementById('date').value,
                       side: document.getElementById('side').value || null,
                       note: document.getElementById('treatment-note').value.trim()};
    const r = await fetch('/api/treatments', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                              body: JSON.stringify(treatment)});
    const answer = await r.json().catch(() => ({}));
    if (r.status === 201) {
      msg.className = 'msg'; msg.textContent = 'Added: ' + (KINDS[answer.kind] || answer.kind) + ' on ' + answer.date + '.';
      document.getElementById('treatment-note').value = '';
      loadTreatments(); loadSessions();
    } else {
      msg.className = 'msg error'; msg.textContent = 'Not added: ' + (answer.detail || ('error ' + r.status));
    }
  });
  loadSessions().catch(() => {}); loadTreatments().catch(() => {});
})();
