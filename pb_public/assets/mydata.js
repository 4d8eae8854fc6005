// My data: the account's data (download), consent, the token for sync
// clients, account deletion, and deletion of contributions by receipt.

import { api, ApiError, pb, getStatus, showError, errorBox, el, $, fmtInt, plural, downloadJSON } from './app.js';
import { signedIn, startSignIn, completeSignIn, signOut } from './auth.js';

const MAX_ROWS_PER_REQUEST = 5000;
let me = null;
let receipt = null;

function msg(node) {
  $('#account-msg').replaceChildren(node);
}

function row(k, v) {
  return el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, v));
}

function render() {
  const inn = signedIn();
  $('#signed-out').hidden = inn;
  $('#signed-in').hidden = !inn || !me;
  if (!inn || !me) return;
  const c = me.consent || {};
  const q = me.quota || {};
  $('#account-facts').replaceChildren(el('table', {}, el('tbody', {},
    row('GitHub user id', el('code', {}, me.github_id || '—')),
    row('Account created', me.account?.created || '—'),
    row('Privacy policy accepted', c.version ? `version ${c.version}${c.day ? ` on ${c.day}` : ''}` : 'not yet'),
    row('Rows stored today', q.daily_limit > 0 ? `${fmtInt(q.uploaded || 0)} of ${fmtInt(q.daily_limit)} allowed` : fmtInt(q.uploaded || 0)))));
  $('#consent-text').textContent = c.uploads_enabled
    ? `You accepted the current policy (version ${c.current_version}). You can withdraw your consent: your uploads then stop until you accept again. Songs already uploaded stay (delete them with your receipts).`
    : (c.version && c.version >= c.current_version
      ? 'You withdrew your consent, so uploads from this account are paused. Accept the policy again to upload.'
      : `You have not accepted the current policy (version ${c.current_version}) yet, so this account cannot upload.`);
  $('#withdraw').hidden = !c.uploads_enabled;
  $('#give-consent').hidden = !!c.uploads_enabled;
  if (me.contributions) $('#account-facts').append(el('p', { class: 'small muted' }, me.contributions));
}

async function loadMe() {
  me = null;
  if (!signedIn()) { render(); return; }
  try {
    me = await api('/api/songcommons/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut();
      msg(errorBox(new ApiError(401, 'Your sign-in has expired or the account no longer exists. Please sign in again.')));
    } else {
      msg(errorBox(err, { title: 'Your account could not be loaded.' }));
    }
  }
  render();
}

$('#signin').addEventListener('click', async () => {
  $('#signin').disabled = true;
  try {
    await startSignIn();
  } catch (err) {
    msg(errorBox(err, { title: 'Signing in did not work.' }));
    $('#signin').disabled = false;
  }
});
$('#signout').addEventListener('click', () => { signOut(); me = null; $('#token-box').hidden = true; $('#token').value = ''; msg(el('p', { class: 'success' }, 'You are signed out.')); render(); });
$('#download-me').addEventListener('click', async () => {
  try {
    const data = await api('/api/songcommons/me');
    downloadJSON(data, 'songcommons-my-data.json');
  } catch (err) {
    msg(errorBox(err, { title: 'Your data could not be downloaded.' }));
  }
});
$('#withdraw').addEventListener('click', async () => {
  try {
    me = await api('/api/songcommons/me/consent', { method: 'POST', body: { accept: false } });
    msg(el('p', { class: 'success', role: 'status' }, 'Consent withdrawn: this account can no longer upload until you accept the policy again.'));
  } catch (err) {
    msg(errorBox(err, { title: 'Your consent could not be withdrawn.' }));
  }
  render();
});
$('#show-token').addEventListener('click', () => {
  const box = $('#token-box');
  box.hidden = !box.hidden;
  $('#token').value = box.hidden ? '' : pb.authStore.token;
  $('#show-token').textContent = box.hidden ? 'Show my token' : 'Hide my token';
  $('#show-token').setAttribute('aria-expanded', String(!box.hidden));
  if (!box.hidden) $('#token').select();
});
$('#delete-me').addEventListener('click', () => {
  $('#delete-confirm').hidden = false;
  $('#delete-yes').focus();
});
$('#delete-no').addEventListener('click', () => {
  $('#delete-confirm').hidden = true;
  $('#delete-me').focus();
});
$('#delete-yes').addEventListener('click', async () => {
  $('#delete-yes').disabled = true;
  try {
    await api('/api/songcommons/me', { method: 'DELETE' });
    signOut();
    me = null;
    $('#delete-confirm').hidden = true;
    msg(el('p', { class: 'success', role: 'status' }, 'Your account and its GitHub link were deleted.'));
  } catch (err) {
    msg(errorBox(err, { title: 'The account could not be deleted.' }));
  }
  $('#delete-yes').disabled = false;
  render();
});

// ---- receipts ----

function readReceipt(text) {
  let r;
  try { r = JSON.parse(text); } catch { throw new Error('This file is not a receipt: it is not valid JSON.'); }
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error('This file is not a receipt.');
  if (r.scheme && r.scheme !== 'songcommons-receipt-v1') throw new Error(`This receipt uses an unknown scheme (${r.scheme}).`);
  if (typeof r.secret !== 'string' || r.secret.length < 16) throw new Error('This receipt has no secret, so it cannot delete anything. Receipts saved by the Contribute page have one.');
  if (!Array.isArray(r.rows) || !r.rows.length) throw new Error('This receipt lists no rows.');
  const rows = r.rows.filter((x) => x && (x.collection === 'score' || x.collection === 'embedding') && typeof x.id === 'string' && x.id);
  if (rows.length !== r.rows.length) throw new Error('Some rows of this receipt are damaged (each needs a collection, score or embedding, and an id).');
  return { secret: r.secret, rows, created: r.created };
}

$('#receipt-file').addEventListener('change', async () => {
  receipt = null;
  $('#receipt-result').replaceChildren();
  const f = $('#receipt-file').files[0];
  const sum = $('#receipt-summary');
  if (!f) { sum.replaceChildren(); $('#receipt-delete').disabled = true; return; }
  try {
    receipt = readReceipt(await f.text());
    const scores = receipt.rows.filter((r) => r.collection === 'score').length;
    const embs = receipt.rows.length - scores;
    sum.replaceChildren(el('p', {}, `Receipt${receipt.created ? ` of ${receipt.created}` : ''}: ${plural(receipt.rows.length, 'row')} `
      + `(${plural(scores, 'analysis', 'analyses')}, ${plural(embs, 'embedding')}).`));
  } catch (err) {
    sum.replaceChildren(errorBox(err));
  }
  $('#receipt-delete').disabled = !receipt;
  $('#receipt-delete').textContent = !receipt ? 'Delete these rows'
    : (receipt.rows.length === 1 ? 'Delete this row' : `Delete these ${fmtInt(receipt.rows.length)} rows`);
});

$('#receipt-delete').addEventListener('click', async () => {
  if (!receipt) return;
  const btn = $('#receipt-delete');
  btn.disabled = true;
  let deleted = 0, unmatched = 0;
  try {
    for (let i = 0; i < receipt.rows.length; i += MAX_ROWS_PER_REQUEST) {
      const res = await api('/api/songcommons/receipts/delete', {
        method: 'POST', auth: false, body: { secret: receipt.secret, rows: receipt.rows.slice(i, i + MAX_ROWS_PER_REQUEST) },
      });
      deleted += res.deleted || 0;
      unmatched += res.unmatched || 0;
    }
    $('#receipt-result').replaceChildren(el('p', { class: 'success', role: 'status' },
      `Deleted ${plural(deleted, 'row')}.`,
      unmatched ? ` ${plural(unmatched, 'row')} ${unmatched === 1 ? 'was' : 'were'} not deleted: already gone, or the receipt does not match ${unmatched === 1 ? 'it' : 'them'}.` : ''));
    receipt = null;
    $('#receipt-file').value = '';
    btn.textContent = 'Delete these rows';
  } catch (err) {
    $('#receipt-result').replaceChildren(errorBox(err, { title: deleted ? `Deleted ${plural(deleted, 'row')}, then:` : 'Nothing was deleted.' }));
    btn.disabled = false;
  }
});

async function main() {
  try {
    const st = await getStatus();
    if (!st.signIn) {
      $('#signin-off').hidden = false;
      $('#signin-off').textContent = st.signInMessage || 'GitHub sign-in is not configured on this server.';
      $('#signin').disabled = true;
    }
  } catch (err) {
    msg(errorBox(err, { title: 'The server status could not be loaded.' }));
  }
  try {
    if ((await completeSignIn()) === 'leaving') return;
  } catch (err) {
    msg(errorBox(err, { title: 'Signing in did not work.' }));
  }
  await loadMe();
  document.body.dataset.ready = 'true';
}

render();
main();
