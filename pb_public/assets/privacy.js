// Privacy: the policy with this server's live settings, and a form for
// requests that need a person.

import { api, getStatus, showError, errorBox, el, $, retentionWords, ipWords } from './app.js';

function row(k, v) {
  return el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, v));
}

async function live() {
  const box = $('#live');
  try {
    const s = await getStatus();
    const keep = retentionWords(s.logRetention);
    box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { id: 'settings' }, el('tbody', {},
      row('Privacy policy version', String(s.policyVersion)),
      row('Request logs', keep ? `kept for ${keep}, then deleted` : 'none are kept'),
      row('IP addresses in the logs', keep ? ipWords(s.ipMode) : 'not applicable (no request logs)'),
      row('Who can read the dataset', s.publicRead ? 'everyone (an open dataset)' : 'signed-in contributors only'),
      row('GitHub sign-in', s.signIn ? 'configured' : 'not configured: contributions are closed'),
      row('Service version', s.version || '—')))));
    if (!keep) {
      $('#logs-claim').textContent = 'This server keeps no request logs.';
      $('#threat-logs').textContent = 'no request logs (this server keeps none)';
    } else {
      $('#logs-claim').textContent = `Request logs are kept for ${keep}, never hold your account id, hold your IP address `
        + `${ipWords(s.ipMode)}, drop query strings (which would name the songs you looked up), keep only the first `
        + 'word of your browser’s user agent, and are not part of backups.';
      $('#threat-logs').textContent = `the request logs of the last ${keep}, with bare paths and IP addresses ${ipWords(s.ipMode)}`;
    }
    if (!s.publicRead) {
      $('#threat-public').textContent = 'On this server only signed-in contributors can read the dataset. Nobody can learn who contributed anything.';
    }
  } catch (err) {
    showError(box, err, { title: 'The live settings could not be loaded.' });
  }
}

$('#request-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = $('#request-result');
  const text = $('#req-text').value.trim();
  if (!text) {
    out.replaceChildren(errorBox(new Error('Write your request first.')));
    $('#req-text').focus();
    return;
  }
  $('#req-send').disabled = true;
  try {
    const res = await api('/api/songcommons/privacy-requests', { method: 'POST', auth: false, body: { text, contact: $('#req-contact').value.trim() } });
    out.replaceChildren(el('p', { class: 'success', role: 'status' }, res?.message || 'Thank you: your request was received.'));
    $('#req-text').value = '';
    $('#req-contact').value = '';
  } catch (err) {
    out.replaceChildren(errorBox(err, { title: 'Your request could not be sent.' }));
  }
  $('#req-send').disabled = false;
});

live();
