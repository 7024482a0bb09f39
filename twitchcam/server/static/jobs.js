// The list of videos (upload page and /jobs): refreshed every 2 s, filtered by the label search box.
'use strict';
function tcResult(j) {
  if (j.status === 'failed') return '<span class="small error-text">' + tcEsc(j.error) + '</span>';
  if (j.status === 'running') return Math.round(100 * j.progress) + '% done: ' + tcEsc(j.stage);
  if (j.status !== 'done' || !j.summary) return '';
  const s = j.summary;
  return s.n_events + ' event' + (s.n_events === 1 ? '' : 's') + ', side: ' + tcEsc(tcSide(s.affected_side));
}
function tcLabels(j) {
  return (j.label ? '<span class="label-tag">' + tcEsc(j.label) + '</span>' : '') +
    (j.note ? '<span class="note">' + tcEsc(j.note) + '</span>' : '');
}
const tcSearch = document.getElementById('search');
async function tcRefreshJobs() {
  const body = document.getElementById('jobs-body');
  if (!body) return;
  const q = tcSearch ? tcSearch.value.trim() : '';
  try {
    const r = await fetch('/api/jobs' + (q ? '?q=' + encodeURIComponent(q) : ''), {headers: {'Accept': 'application/json'}});
    if (!r.ok) return;
    const jobs = await r.json();
    if ((tcSearch ? tcSearch.value.trim() : '') !== q) return;  // typed on meanwhile: the next refresh shows it
    body.innerHTML = jobs.length ? jobs.map(j =>
      '<tr><td><a href="/jobs/' + encodeURIComponent(j.id) + '">' + tcEsc(j.name) + '</a></td>' +
      '<td>' + tcLabels(j) + '</td><td>' + tcWhen(j.created) + '</td><td><span class="badge ' + tcEsc(j.status) +
      '">' + tcEsc(j.status) + '</span></td><td>' + tcResult(j) + '</td></tr>').join('')
      : '<tr><td colspan="5" class="muted">' + (q ? 'No video has a label with “' + tcEsc(q) + '”.' : 'No videos yet.') +
        '</td></tr>';
  } catch (e) {}
}
if (tcSearch) {
  let timer = null;
  tcSearch.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(tcRefreshJobs, 250); });
  document.getElementById('search-form').addEventListener('submit', e => { e.preventDefault(); tcRefreshJobs(); });
}
tcRefreshJobs(); setInterval(tcRefreshJobs, 2000);
