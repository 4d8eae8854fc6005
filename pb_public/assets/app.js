// Shared helpers of the songcommons pages: the API client, errors in words,
// small DOM helpers and number formats. Every request goes to this origin.

import PocketBase from '../vendor/pocketbase/pocketbase.es.mjs';

// The PocketBase SDK, talking to this origin. Auto-cancellation is off:
// pages cancel their own stale requests.
export const pb = new PocketBase('/');
pb.autoCancellation(false);

// ApiError is an answer of the API that was not a success, or no answer.
export class ApiError extends Error {
  constructor(status, message, fields) {
    super(message);
    this.status = status;
    this.fields = fields || {};
  }
}

// api sends a JSON request to this origin and returns the decoded answer.
// Errors become ApiError with the server's message and field messages.
export async function api(path, { method = 'GET', body, auth = true, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && pb.authStore.isValid) headers.Authorization = pb.authStore.token;
  let res;
  try {
    res = await fetch(path, {
      method, headers, signal, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server could not be reached. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) throw toApiError(res.status, data);
  return data;
}

// toApiError reads PocketBase's error shape {status, message, data:{field:{code,message}}}.
function toApiError(status, data) {
  let message = data && typeof data.message === 'string' && data.message ? data.message : '';
  if (!message) message = statusWords(status);
  const fields = {};
  if (data && data.data && typeof data.data === 'object') {
    for (const [k, v] of Object.entries(data.data)) {
      if (v && typeof v === 'object' && typeof v.message === 'string') fields[k] = v.message;
      else if (typeof v === 'string') fields[k] = v;
    }
  }
  return new ApiError(status, message, fields);
}

function statusWords(status) {
  switch (status) {
    case 400: return 'The server could not accept this request.';
    case 401: return 'You need to sign in for this.';
    case 403: return 'You are not allowed to do this.';
    case 404: return 'This was not found on the server.';
    case 413: return 'This request is too large for the server.';
    case 429: return 'Too many requests: wait a moment and try again.';
    default:
      return status >= 500 ? 'The server had a problem. Try again later.' : `The request failed (HTTP ${status}).`;
  }
}

// fromSdkError turns an error of the PocketBase SDK into an ApiError.
export function fromSdkError(err) {
  if (err instanceof ApiError) return err;
  if (err && typeof err.status === 'number') {
    if (err.status === 0) return new ApiError(0, 'The server could not be reached. Check your connection and try again.');
    return toApiError(err.status, err.response || err.data);
  }
  return new ApiError(0, (err && err.message) || 'Something went wrong.');
}

// errorBox renders an error in words: the message, then each field message.
export function errorBox(err, { title, fieldLabel } = {}) {
  const e = fromSdkError(err);
  const box = el('div', { class: 'error', role: 'alert' });
  if (title) box.append(el('strong', {}, title), ' ');
  box.append(e.message);
  const entries = Object.entries(e.fields);
  if (entries.length) {
    const ul = el('ul');
    for (const [k, msg] of entries.slice(0, 50)) {
      ul.append(el('li', {}, fieldLabel ? fieldLabel(k, msg) : `${humanField(k)}: ${msg}`));
    }
    if (entries.length > 50) ul.append(el('li', {}, `… and ${entries.length - 50} more.`));
    box.append(ul);
  }
  return box;
}

// showError replaces a container's content with an error box.
export function showError(container, err, opts) {
  container.replaceChildren(errorBox(err, opts));
  container.hidden = false;
}

// humanField turns "songs.3.tempo" into "song 4, tempo".
export function humanField(k) {
  const m = /^songs\.(\d+)\.(.+)$/.exec(k);
  if (m) return `song ${Number(m[1]) + 1}, ${m[2].replace(/_/g, ' ').replace(/\./g, ' ')}`;
  return k.replace(/_/g, ' ').replace(/\./g, ' ');
}

// el builds an element: el('a', {href: '…', class: 'x'}, 'text', child…).
// Text is always set as text, never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);

const intFmt = new Intl.NumberFormat('en');
export const fmtInt = (n) => intFmt.format(Math.round(Number(n) || 0));
export const fmtNum = (n, digits = 1) =>
  Number(n).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
export const fmtPct = (x) => `${Math.round(Number(x) * 100)}%`;
export const plural = (n, one, many) => `${fmtInt(n)} ${Number(n) === 1 ? one : (many || one + 's')}`;

// keyName writes a stored key (sharps) with proper signs: "F#" → "F♯".
export function keyName(key, scale) {
  if (!key) return '—';
  const k = key.replace('#', '♯');
  return scale ? `${k} ${scale}` : k;
}

// songURL is the address of a song's page: its key goes in the query
// string, which the server drops from its logs.
export const songURL = (songKey) => `song.html?key=${encodeURIComponent(songKey)}`;

// parseLabels reads "rock:0.512,pop:0.301" into [{label, score}], score descending.
export function parseLabels(s) {
  if (!s || typeof s !== 'string') return [];
  const out = [];
  for (const part of s.split(',')) {
    const i = part.lastIndexOf(':');
    if (i < 0) continue;
    const score = Number(part.slice(i + 1));
    if (!Number.isFinite(score)) continue;
    out.push({ label: part.slice(0, i).trim(), score });
  }
  return out.sort((a, b) => b.score - a.score || a.label.localeCompare(b.label));
}

// status of the service, fetched once per page.
let statusPromise;
export function getStatus() {
  if (!statusPromise) statusPromise = api('/api/songcommons/status', { auth: false });
  return statusPromise;
}

// downloadJSON saves an object as a .json file.
export function downloadJSON(obj, filename) {
  const blob = new Blob([JSON.stringify(obj, null, 2) + '\n'], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export const today = () => new Date().toISOString().slice(0, 10);

// Mark the current page in the navigation.
function markNav() {
  const here = location.pathname.replace(/\/$/, '/index.html').split('/').pop() || 'index.html';
  for (const a of document.querySelectorAll('.site-nav a')) {
    const target = a.getAttribute('href').split('?')[0].split('/').pop() || 'index.html';
    if (target === here || (here === 'song.html' && target === 'search.html')) a.setAttribute('aria-current', 'page');
  }
}
markNav();

// ipWords says how client IPs are logged, for an ipMode of the status.
export function ipWords(mode) {
  switch (mode) {
    case 'truncated': return 'shortened (IPv4 to its first three parts, /24; IPv6 to /48)';
    case 'none': return 'not recorded at all';
    case 'full': return 'recorded in full (this server is set up that way)';
    default: return `recorded as set up on this server (${mode})`;
  }
}

// retentionWords says how long request logs are kept ("72h" → "72 hours").
export function retentionWords(r) {
  if (r === '0' || r === 0) return null;
  const m = /^(\d+)h$/.exec(String(r));
  if (m) {
    const h = Number(m[1]);
    return h % 24 === 0 && h >= 48 ? `${h} hours (${h / 24} days)` : `${h} ${h === 1 ? 'hour' : 'hours'}`;
  }
  return String(r);
}

// logsSentence sums up the request logs of this server in one sentence.
export function logsSentence(s) {
  const keep = retentionWords(s.logRetention);
  if (!keep) return 'This server keeps no request logs.';
  return `Request logs are kept for ${keep}, with your IP address ${ipWords(s.ipMode)}, without query strings and without your account id.`;
}
