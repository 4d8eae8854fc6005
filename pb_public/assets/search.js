// Search: songs (one row per song, the consensus of its contributions) by
// artist or title, as you type, paginated.

import { api, pb, showError, el, $, fmtInt, fmtNum, keyName, songURL, plural } from './app.js';

const PER_PAGE = 20;
const input = $('#q');
const list = $('#results');
const count = $('#result-count');
const errBox = $('#search-error');
const pager = $('#pager');

let seq = 0;
let controller = null;
let current = { q: '', page: 1 };

// fold lower-cases and drops accents, as song keys are written.
const fold = (s) => s.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();

function buildFilter(q) {
  const words = q.split(/\s+/).filter(Boolean).slice(0, 8);
  if (!words.length) return '';
  const parts = [];
  const params = {};
  words.forEach((w, i) => {
    params[`w${i}`] = w;
    params[`f${i}`] = fold(w);
    parts.push(`(artist ~ {:w${i}} || title ~ {:w${i}} || song_key ~ {:f${i}})`);
  });
  return pb.filter(parts.join(' && '), params);
}

function item(s) {
  const facts = [];
  if (s.tempo > 0) facts.push(el('span', { class: 'chip' }, `${fmtNum(s.tempo, 1)} BPM`));
  if (s.key) facts.push(el('span', { class: 'chip' }, keyName(s.key, s.scale)));
  facts.push(el('span', { class: 'chip' }, plural(s.contributions || 0, 'analysis', 'analyses')));
  for (const [model, n] of Object.entries(s.embeddings || {})) {
    if (n > 0) facts.push(el('span', { class: 'chip model', title: `${n} ${model} embedding${n === 1 ? '' : 's'}` }, model));
  }
  return el('li', { class: 'result' },
    el('a', { href: songURL(s.song_key) },
      el('span', {}, el('span', { class: 'title' }, s.title || '(no title)'), ' ',
        el('span', { class: 'artist' }, `— ${s.artist || '(no artist)'}`)),
      el('span', { class: 'facts' }, facts)));
}

function syncURL(q, page) {
  const u = new URL(location.href);
  if (q) u.searchParams.set('q', q); else u.searchParams.delete('q');
  if (page > 1) u.searchParams.set('page', String(page)); else u.searchParams.delete('page');
  history.replaceState(null, '', u.pathname + u.search);
}

async function run(q, page) {
  q = q.trim();
  current = { q, page };
  syncURL(q, page);
  const mine = ++seq;
  if (controller) controller.abort();
  controller = new AbortController();
  const params = new URLSearchParams({
    page: String(page), perPage: String(PER_PAGE), sort: 'artist,title',
    fields: 'id,song_key,artist,title,contributions,tempo,key,scale,embeddings',
  });
  const filter = buildFilter(q);
  if (filter) params.set('filter', filter);
  list.setAttribute('aria-busy', 'true');
  try {
    const res = await api(`/api/collections/songs/records?${params}`, { signal: controller.signal });
    if (mine !== seq) return;
    errBox.hidden = true;
    list.replaceChildren(...res.items.map(item));
    const total = res.totalItems;
    if (!q) count.textContent = total ? `${plural(total, 'song')} in the dataset, A to Z by artist.` : 'The dataset has no songs yet.';
    else count.textContent = total ? `${plural(total, 'song')} ${total === 1 ? 'matches' : 'match'} “${q}”.`
      : `No song matches “${q}”. Try fewer or shorter words.`;
    pager.hidden = res.totalPages <= 1;
    $('#page-info').textContent = `Page ${fmtInt(res.page)} of ${fmtInt(res.totalPages)}`;
    $('#prev').disabled = res.page <= 1;
    $('#next').disabled = res.page >= res.totalPages;
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    if (mine !== seq) return;
    list.replaceChildren();
    count.textContent = '';
    pager.hidden = true;
    showError(errBox, err, { title: 'The search failed.' });
  } finally {
    if (mine === seq) list.removeAttribute('aria-busy');
  }
}

let timer = 0;
input.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(() => run(input.value, 1), 250);
});
$('#search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(timer);
  run(input.value, 1);
});
// after a page change, focus (and scroll to) the result count, so that
// keyboard users start at the top of the new page
const turn = async (page) => { await run(current.q, page); count.focus(); };
$('#prev').addEventListener('click', () => turn(Math.max(1, current.page - 1)));
$('#next').addEventListener('click', () => turn(current.page + 1));

const params = new URLSearchParams(location.search);
input.value = params.get('q') || '';
run(input.value, Math.max(1, parseInt(params.get('page') || '1', 10) || 1));
