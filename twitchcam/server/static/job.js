// One job's page: while it runs, each stage (analysing, the annotated video, the report) with its own bar;
// reloads when the job ends; delete; the report's frame fitted to its content.
'use strict';
(function () {
  const data = tcData(), steps = data.steps || [];
  function showSteps(j) {
    const current = steps.indexOf(j.step);
    document.querySelectorAll('#steps li').forEach((li, i) => {
      const bar = li.querySelector('.bar'), fill = bar.firstElementChild, text = li.querySelector('.step-text');
      li.className = i < current ? 'finished' : (i === current ? 'now' : '');
      bar.classList.remove('busy');
      if (i < current) { fill.style.width = '100%'; text.textContent = 'done'; return; }
      if (i > current || current < 0) { fill.style.width = '0'; text.textContent = 'waiting'; return; }
      if (j.step_total > 0) {
        fill.style.width = Math.round(100 * Math.min(j.step_done / j.step_total, 1)) + '%';
        text.textContent = j.step_total > 1 ? 'frame ' + j.step_done + ' of ' + j.step_total
          : (j.step_done >= j.step_total ? 'done' : 'working…');
        if (j.step_total === 1 && j.step_done < 1) bar.classList.add('busy');
      } else {
        bar.classList.add('busy'); text.textContent = j.step_done ? 'frame ' + j.step_done : 'working…';
      }
    });
  }
  async function poll() {
    try {
      const r = await fetch('/api/jobs/' + encodeURIComponent(data.id), {headers: {'Accept': 'application/json'}});
      if (r.status === 404) { window.location.href = '/'; return; }
      if (r.ok) {
        const j = await r.json();
        if (j.status === 'done' || j.status === 'failed') { window.location.reload(); return; }
        const p = Math.round(100 * j.progress);
        const badge = document.getElementById('badge');
        badge.textContent = j.status; badge.className = 'badge ' + j.status;
        document.getElementById('bar').style.width = p + '%';
        document.getElementById('overall').textContent = j.status === 'running' ? p + '% in all' : '';
        document.getElementById('stage').textContent = j.status === 'running' ? j.stage : (j.stage || 'waiting for a free worker');
        showSteps(j);
      }
    } catch (e) {}
    setTimeout(poll, 700);
  }
  if (data.status !== 'done' && data.status !== 'failed') poll();

  document.getElementById('delete').addEventListener('click', async () => {
    if (!confirm('Delete this video and all its results?')) return;
    const r = await fetch('/api/jobs/' + encodeURIComponent(data.id), {method: 'DELETE'});
    if (r.ok || r.status === 404) window.location.href = '/';
  });
  const frame = document.getElementById('report');
  if (frame) frame.addEventListener('load', () => {
    try { frame.style.height = (frame.contentDocument.documentElement.scrollHeight + 24) + 'px'; } catch (e) {}
  });
})();
