// Contribute: sign in with GitHub, accept the policy, choose a file, see
// its problems row by row, upload it in requests of 500 songs, and keep
// the receipt.

import { api, ApiError, getStatus, showError, errorBox, el, $, fmtInt, plural, downloadJSON, today, logsSentence } from './app.js';
import { signedIn, startSignIn, completeSignIn, signOut } from './auth.js';
import { parseUpload, chunk, DEFAULT_MODELS } from './parse.js';

const state = {
  status: null,
  me: null, // GET /api/songcommons/me, or null
  meMissing: false, // the server has no account routes (older servers)
  parsed: null,
  fileName: '',
  uploading: false,
  receipt: null,
};

const MAX_SHOWN_ERRORS = 200;

function models() {
  return state.status?.models?.length ? state.status.models : DEFAULT_MODELS;
}

function consentOK() {
  if (state.meMissing) return $('#consent-check').checked;
  return !!state.me?.consent?.uploads_enabled;
}

function validRows() {
  return (state.parsed?.rows || []).filter((r) => r.song && !r.errors.length);
}

function render() {
  const st = state.status;
  const off = st && !st.signIn;
  const inn = signedIn();
  $('#signin-off').hidden = !off;
  if (off) $('#signin-off').textContent = st.signInMessage || 'Sign-in is not configured on this server, so contributions are closed. You can still check a file here.';
  $('#signed-out').hidden = inn;
  $('#signin').disabled = !!off;
  $('#signed-in').hidden = !inn;
  if (inn && state.me) {
    const created = state.me.account?.created;
    $('#signed-in-text').textContent = `You are signed in with GitHub${created ? ` (account created ${created})` : ''}.`;
  }
  $('#step-signin').classList.toggle('done', inn);

  // consent
  const stepC = $('#step-consent');
  const ok = inn && consentOK();
  stepC.classList.toggle('locked', !inn);
  stepC.classList.toggle('done', ok && !state.meMissing);
  $('#consent-locked').hidden = inn;
  const accepted = inn && !state.meMissing && state.me?.consent?.uploads_enabled;
  $('#consent-form').hidden = !inn || accepted;
  $('#consent-done').hidden = !accepted;
  if (accepted) {
    const c = state.me.consent;
    $('#consent-done').textContent = `You accepted the privacy policy version ${c.version}${c.day ? ` on ${c.day}` : ''}. Uploads are enabled.`;
  }
  for (const n of document.querySelectorAll('.policy-version')) n.textContent = String(st?.policyVersion ?? 1);
  $('#consent-btn').disabled = !$('#consent-check').checked || state.meMissing;
  $('#consent-btn').hidden = state.meMissing;

  // upload
  const valid = validRows();
  const bad = (state.parsed?.rows || []).length - valid.length;
  const ready = inn && ok && valid.length > 0 && !state.uploading && !off && !(state.parsed?.fileErrors?.length);
  $('#step-upload').classList.toggle('locked', !(inn && ok));
  $('#step-file').classList.toggle('done', valid.length > 0);
  const btn = $('#upload-btn');
  btn.disabled = !ready;
  btn.textContent = valid.length
    ? (bad ? `Upload the ${plural(valid.length, 'valid song')} (${fmtInt(bad)} with problems left out)` : `Upload ${plural(valid.length, 'song')}`)
    : 'Upload';
  const hint = [];
  if (off) hint.push('Contributions are closed on this server.');
  else {
    if (!inn) hint.push('Sign in first.');
    else if (!ok) hint.push('Accept the privacy policy first.');
    if (!state.parsed) hint.push('Choose a file.');
    else if (!valid.length) hint.push('The file has no song without problems.');
  }
  const q = state.me?.quota;
  if (q && q.daily_limit > 0) hint.push(`Today you stored ${fmtInt(q.uploaded)} of ${fmtInt(q.daily_limit)} rows allowed per day (a song’s analysis is one row, each of its vectors one more).`);
  $('#upload-hint').textContent = hint.join(' ');
  $('#upload-hint').hidden = hint.length === 0;
}

async function refreshAccount() {
  state.me = null;
  if (!signedIn()) return;
  try {
    state.me = await api('/api/songcommons/me');
    state.meMissing = false;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && !/account/i.test(err.message)) {
      state.meMissing = true; // no account routes on this server
    } else if (err instanceof ApiError && (err.status === 401 || err.status === 404)) {
      signOut();
      showError($('#signin-error'), new ApiError(401, 'Your sign-in has expired or the account no longer exists. Please sign in again.'));
    } else {
      showError($('#signin-error'), err, { title: 'Your account could not be loaded.' });
    }
  }
}

// ---- file ----

function fieldText(f) {
  if (!f) return '';
  return f.replace(/^embeddings\./, 'embedding ').replace(/_/g, ' ');
}

function renderFile() {
  const p = state.parsed;
  const sum = $('#file-summary');
  const errs = $('#row-errors');
  if (!p) { sum.replaceChildren(); errs.replaceChildren(); return; }
  const rows = p.rows;
  const valid = validRows().length;
  const bad = rows.filter((r) => r.errors.length);
  const parts = [el('span', {}, el('strong', {}, state.fileName), ` (${p.format})`),
    el('span', {}, `${plural(rows.length, 'song')} read`),
    el('span', { class: valid ? '' : 'muted' }, `${fmtInt(valid)} ready to upload`)];
  if (bad.length) parts.push(el('span', {}, el('strong', {}, `${plural(bad.length, 'song')} with problems`)));
  sum.replaceChildren(el('p', { class: 'file-summary' }, parts));
  const blocks = [];
  if (p.fileErrors.length) {
    blocks.push(el('div', { class: 'error', role: 'alert' }, el('strong', {}, 'This file cannot be used. '),
      el('ul', {}, p.fileErrors.map((e) => el('li', {}, e)))));
  }
  if (bad.length) {
    const shown = bad.slice(0, MAX_SHOWN_ERRORS);
    const trs = [];
    for (const r of shown) {
      r.errors.forEach((e, i) => {
        trs.push(el('tr', {},
          i === 0 ? el('td', { rowspan: r.errors.length }, r.label) : null,
          i === 0 ? el('td', { rowspan: r.errors.length }, r.name || '—') : null,
          el('td', {}, e.field ? el('strong', {}, `${fieldText(e.field)}: `) : null, e.message)));
      });
    }
    blocks.push(el('div', { class: 'error', role: 'alert' },
      el('strong', {}, `${plural(bad.length, 'song')} cannot be uploaded as ${bad.length === 1 ? 'it is' : 'they are'}. `),
      valid ? `${bad.length === 1 ? 'It is' : 'They are'} left out; fix the file and upload it again to add ${bad.length === 1 ? 'it' : 'them'}.` : 'Fix the file and choose it again.',
      el('div', { class: 'table-wrap' }, el('table', { class: 'row-errors' },
        el('caption', { class: 'visually-hidden' }, 'Problems found in the file'),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Where'), el('th', { scope: 'col' }, 'Song'), el('th', { scope: 'col' }, 'Problem'))),
        el('tbody', {}, trs))),
      bad.length > shown.length ? el('p', {}, `… and ${plural(bad.length - shown.length, 'more song')} with problems.`) : null));
  } else if (rows.length && !p.fileErrors.length) {
    blocks.push(el('p', { class: 'success' }, `Every song in the file passed the checks.`));
  }
  errs.replaceChildren(...blocks);
}

async function onFile() {
  const f = $('#file').files[0];
  state.parsed = null;
  $('#upload-result').replaceChildren();
  if (!f) { renderFile(); render(); return; }
  state.fileName = f.name;
  $('#file-summary').replaceChildren(el('p', { class: 'muted' }, `Reading ${f.name}…`));
  try {
    let text, name = f.name;
    if (/\.gz$/i.test(name)) {
      // a gzip-compressed export (songcommons-….jsonl.gz)
      if (typeof DecompressionStream === 'undefined') throw new Error('this browser cannot unpack .gz files: unpack it first');
      text = await new Response(f.stream().pipeThrough(new DecompressionStream('gzip'))).text();
      name = name.replace(/\.gz$/i, '');
    } else {
      text = await f.text();
    }
    state.parsed = parseUpload(text, name, models());
  } catch (err) {
    state.parsed = { format: '?', rows: [], fileErrors: [`The file could not be read: ${err.message || err}`] };
  }
  renderFile();
  render();
}

// ---- upload ----

function randomSecret() {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function receiptName() {
  return `songcommons-receipt-${today()}.json`;
}

function offerReceipt(box) {
  box.append(el('div', { class: 'actions' },
    el('button', { type: 'button', class: 'secondary', id: 'receipt-again', onclick: () => downloadJSON(state.receipt, receiptName()) },
      'Download the receipt again')));
}

async function upload() {
  const rows = validRows();
  if (!rows.length || state.uploading) return;
  state.uploading = true;
  $('#file').disabled = true;
  render();
  const result = $('#upload-result');
  result.replaceChildren();
  const secret = randomSecret();
  const parts = chunk(rows, 500);
  const stored = [];
  let accepted = 0, failure = null;
  const bar = $('#progress');
  const text = $('#progress-text');
  $('#progress-box').hidden = false;
  $('#progress-label').textContent = `Uploading ${plural(rows.length, 'song')} in ${plural(parts.length, 'request')}…`;
  bar.max = rows.length;
  bar.value = 0;
  text.textContent = `0 of ${fmtInt(rows.length)} songs sent.`;
  for (const [i, part] of parts.entries()) {
    try {
      const res = await api('/api/songcommons/contribute', { method: 'POST', body: { songs: part.map((r) => r.song), receipt_secret: secret } });
      accepted += res.accepted || part.length;
      stored.push(...(res.receipt?.rows || [
        ...(res.score || []).map((id) => ({ collection: 'score', id })),
        ...(res.embedding || []).map((id) => ({ collection: 'embedding', id }))]));
      bar.value = accepted;
      text.textContent = `${fmtInt(accepted)} of ${fmtInt(rows.length)} songs sent (request ${i + 1} of ${parts.length}).`;
    } catch (err) {
      failure = { err, part, index: i };
      break;
    }
  }
  state.uploading = false;
  $('#file').disabled = false;
  if (stored.length) {
    state.receipt = {
      scheme: 'songcommons-receipt-v1',
      secret,
      rows: stored,
      created: today(),
      note: 'Keep this file private: with it anyone can delete these rows (POST /api/songcommons/receipts/delete, or the My data page). The server does not keep the secret.',
    };
    downloadJSON(state.receipt, receiptName());
  }
  if (failure) {
    const { err, part } = failure;
    const label = (k, msg) => {
      const m = /^songs\.(\d+)\.(.+)$/.exec(k);
      const r = m && part[Number(m[1])];
      return r ? `${r.label}${r.name ? ` (${r.name})` : ''}, ${fieldText(m[2])}: ${msg}` : `${k}: ${msg}`;
    };
    result.append(errorBox(err, {
      title: accepted ? `The upload stopped after ${plural(accepted, 'song')}.` : 'Nothing was uploaded.',
      fieldLabel: label,
    }));
    if (err instanceof ApiError && err.status === 403) {
      await refreshAccount();
    }
  }
  if (stored.length) {
    result.append(el('div', { class: 'success', role: 'status' },
      el('strong', {}, `Thank you: ${plural(accepted, 'song')} stored.`),
      ` Your receipt was downloaded as ${receiptName()}: keep it private and safe. It is the only way to delete these ${plural(stored.length, 'row')} later (on `,
      el('a', { href: 'mydata.html' }, 'My data'), '); the server cannot find them for you.'));
    offerReceipt(result);
    if (!failure) {
      state.parsed = null;
      $('#file').value = '';
      renderFile();
    }
    $('#progress-label').textContent = failure ? 'Upload stopped.' : 'Upload complete.';
  } else {
    $('#progress-box').hidden = true;
  }
  await refreshAccount();
  render();
  result.scrollIntoView({ block: 'nearest' });
}

// ---- wiring ----

$('#signin').addEventListener('click', async () => {
  $('#signin').disabled = true;
  $('#signin-error').hidden = true;
  try {
    await startSignIn();
  } catch (err) {
    showError($('#signin-error'), err, { title: 'Signing in did not work.' });
    $('#signin').disabled = false;
  }
});
$('#signout').addEventListener('click', () => { signOut(); state.me = null; render(); });
$('#consent-check').addEventListener('change', render);
$('#consent-btn').addEventListener('click', async () => {
  $('#consent-btn').disabled = true;
  $('#consent-error').hidden = true;
  try {
    state.me = await api('/api/songcommons/me/consent', { method: 'POST', body: { accept: true, version: state.status?.policyVersion ?? 1 } });
  } catch (err) {
    showError($('#consent-error'), err, { title: 'Your consent could not be recorded.' });
  }
  render();
});
$('#file').addEventListener('change', onFile);
$('#upload-btn').addEventListener('click', upload);

async function main() {
  try {
    state.status = await getStatus();
    $('#consent-logs').textContent = logsSentence(state.status);
  } catch (err) {
    showError($('#signin-error'), err, { title: 'The server status could not be loaded.' });
  }
  try {
    if ((await completeSignIn()) === 'leaving') return;
  } catch (err) {
    showError($('#signin-error'), err, { title: 'Signing in did not work.' });
  }
  await refreshAccount();
  render();
  document.body.dataset.ready = 'true';
}

render();
main();
