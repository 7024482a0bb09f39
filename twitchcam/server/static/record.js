// The Record page: camera preview, then a guided protocol (prompts and timings from the server, the same as
// `twitchcam live --protocol rest`) or a free recording, recorded by MediaRecorder as WebM and sent as a job.
// Nothing is recorded or sent before "Start recording"; the camera stops when the recording ends.
'use strict';
(function () {
  const data = tcData();
  const $ = id => document.getElementById(id);
  const preview = $('preview'), msg = $('msg');
  let stream = null, recorder = null, chunks = [], timer = null, steps = [], total = 0, t0 = null;
  let cancelled = false, mimeType = '';

  function say(text, isError) { msg.textContent = text; msg.className = 'msg' + (isError ? ' error' : ''); }
  function cameraOff() {
    if (stream) stream.getTracks().forEach(track => track.stop());
    stream = null; preview.srcObject = null;
  }
  function controls(state) {  // idle, preview, recording, sending
    $('camera-on').hidden = state !== 'idle';
    $('start').hidden = state === 'recording' || state === 'sending';
    $('start').disabled = state !== 'preview';
    $('stop').hidden = state !== 'recording';
    $('cancel').hidden = !(state === 'preview' || state === 'recording');
    $('rec').hidden = state !== 'recording';
    document.querySelectorAll('input[name=mode], #free-seconds').forEach(el => { el.disabled = state === 'recording' || state === 'sending'; });
  }
  function plan() {
    if ($('mode-rest').checked) return data.protocols.rest.map(s => ({prompt: s.prompt, seconds: s.seconds}));
    const seconds = Math.round(Number($('free-seconds').value));
    if (!(seconds >= 10 && seconds <= 600)) return null;
    return [{prompt: 'Look at the camera and relax your face', seconds: seconds}];
  }
  function stepAt(t) {
    let start = 0;
    for (let i = 0; i < steps.length; i++) {
      if (t < start + steps[i].seconds) return [i, start + steps[i].seconds - t];
      start += steps[i].seconds;
    }
    return null;
  }
  function tick() {
    const t = (performance.now() - t0) / 1000;
    const now = stepAt(t);
    if (now === null) { finish(); return; }
    const [i, left] = now;
    $('prompt').textContent = steps[i].prompt;
    $('countdown').textContent = Math.ceil(left) + ' s';
    $('remaining').textContent = 'Step ' + (i + 1) + ' of ' + steps.length + ' · ' + Math.ceil(total - t) + ' s left in all';
    document.querySelectorAll('#protocol-steps li').forEach((li, k) => {
      li.className = $('mode-rest').checked && k === i ? 'now' : '';
    });
  }
  $('camera-on').addEventListener('click', async () => {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      say('This browser cannot use the camera here. Open the page at http://127.0.0.1:… on this computer ' +
          '(browsers allow the camera only on the computer\'s own address or over HTTPS).', true);
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia(
        {video: {width: {ideal: 640}, height: {ideal: 480}, frameRate: {ideal: 30}}, audio: false});
    } catch (err) {
      say(err.name === 'NotAllowedError' ? 'The camera was not allowed: allow it in the browser (the camera ' +
          'icon in the address bar), then try again.' : err.name === 'NotFoundError' ? 'No camera was found.'
          : 'The camera could not be opened: ' + err.message, true);
      return;
    }
    preview.srcObject = stream;
    $('camera-card').hidden = false;
    controls('preview');
    say('Camera on (nothing is being recorded). Place the face in the middle of the picture, then press Start recording.', false);
  });
  $('start').addEventListener('click', () => {
    steps = plan();
    if (!steps) { say('Choose a length between 10 and 600 seconds.', true); return; }
    total = steps.reduce((sum, s) => sum + s.seconds, 0);
    mimeType = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm'].find(t => MediaRecorder.isTypeSupported(t)) || '';
    recorder = new MediaRecorder(stream, mimeType ? {mimeType: mimeType} : {});
    chunks = []; cancelled = false;
    recorder.addEventListener('dataavailable', e => { if (e.data && e.data.size) chunks.push(e.data); });
    recorder.addEventListener('start', () => { t0 = performance.now(); tick(); timer = setInterval(tick, 100); });
    recorder.addEventListener('stop', stopped);
    recorder.start(1000);
    controls('recording');
    say('Recording…', false);
  });
  function finish() {
    clearInterval(timer); timer = null;
    if (recorder && recorder.state !== 'inactive') recorder.stop();
  }
  $('stop').addEventListener('click', finish);
  $('cancel').addEventListener('click', () => {
    cancelled = true; finish(); cameraOff();
    $('camera-card').hidden = true; controls('idle');
    say('Cancelled: nothing was kept or sent.', false);
  });
  async function stopped() {
    cameraOff();  // the camera stops as soon as the recording ends
    $('rec').hidden = true;
    if (cancelled) return;
    const seconds = t0 === null ? 0 : (performance.now() - t0) / 1000;
    const blob = new Blob(chunks, {type: mimeType || 'video/webm'});
    chunks = [];
    if (!blob.size) { controls('idle'); say('Nothing was recorded.', true); return; }
    if (blob.size > data.maxBytes) { controls('idle'); say('The recording is larger than this server accepts (' + tcMB(data.maxBytes) + ').', true); return; }
    controls('sending');
    $('prompt').textContent = 'Recording done. The camera is off.'; $('countdown').textContent = '';
    $('remaining').textContent = Math.round(seconds) + ' s recorded';
    $('upload-row').hidden = false;
    const stamp = new Date(), pad = n => String(n).padStart(2, '0');
    const name = 'recording-' + stamp.getFullYear() + '-' + pad(stamp.getMonth() + 1) + '-' + pad(stamp.getDate()) +
      '-' + pad(stamp.getHours()) + pad(stamp.getMinutes()) + '.webm';
    const fields = {mirrored: 'false', recorded: 'true', diary: $('diary').checked ? 'true' : 'false',
                    protocol: $('mode-rest').checked ? 'rest' : '', label: $('label').value.trim(), note: $('note').value.trim()};
    try {
      const id = await tcSendJob(blob, name, fields,
        p => { $('bar').style.width = p + '%'; $('pct').textContent = 'Sending to twitchcam on this computer: ' + p + '%'; },
        () => { $('pct').textContent = 'Checking the video…'; });
      window.location.href = '/jobs/' + encodeURIComponent(id);
    } catch (err) {
      $('upload-row').hidden = true; controls('idle');
      say('The recording was refused: ' + err.message, true);
    }
  }
  window.addEventListener('pagehide', cameraOff);
  controls('idle');
})();
