// Search: songs (one row per song, the consensus of its contributions) by
// artist, title or album, as you type, paginated: /api/songcommons/search
// (words and word beginnings, ranked); with no words, every song A to Z
// through the record API.

import { api, showError, el, $, fmtInt, fmtNum, keyName, songURL, plural } from './app.js';

const PER_PAGE = 20;
const input = $('#q');
const list = $('#results');
const count = $('#result-count');
const errBox = $('#search-error');
const pager = $('#pager');

let seq = 0;
let controller = null;
let current = { q: '', page: 1 };

// MAX_TOTAL is where the search route stops counting (it says capped).
const MAX_TOTAL = 10000;

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
  if (q) page = Math.min(page, MAX_TOTAL / PER_PAGE); // as deep as the search's pages go
  current = { q, page };
  syncURL(q, page);
  const mine = ++seq;
  if (controller) controller.abort();
  controller = new AbortController();
  list.setAttribute('aria-busy', 'true');
  try {
    let items, total, pages, capped = false;
    if (q) {
      // the search route: an in-memory index of names, ranked, no table scan
      const params = new URLSearchParams({ q: q.slice(0, 200), page: String(page), perPage: String(PER_PAGE) });
      const res = await api(`/api/songcommons/search?${params}`, { signal: controller.signal });
      items = res.results;
      total = res.total;
      capped = res.capped;
      pages = Math.max(1, Math.ceil(total / PER_PAGE)); // total is at most MAX_TOTAL, as deep as pages go
    } else {
      // browsing: the songs table in artist order (an index walk, no filter)
      const params = new URLSearchParams({
        page: String(page), perPage: String(PER_PAGE), sort: 'artist,title',
        fields: 'id,song_key,artist,title,contributions,tempo,key,scale,embeddings',
      });
      const res = await api(`/api/collections/songs/records?${params}`, { signal: controller.signal });
      items = res.items;
      total = res.totalItems;
      pages = Math.max(1, res.totalPages);
    }
    if (mine !== seq) return;
    errBox.hidden = true;
    list.replaceChildren(...items.map(item));
    const shown = capped ? `${fmtInt(MAX_TOTAL)}+ songs` : plural(total, 'song');
    if (!q) count.textContent = total ? `${shown} in the dataset, A to Z by artist.` : 'The dataset has no songs yet.';
    else count.textContent = total ? `${shown} ${total === 1 && !capped ? 'matches' : 'match'} “${q}”, best matches first.`
      : `No song matches “${q}”. Try fewer or shorter words.`;
    pager.hidden = pages <= 1;
    $('#page-info').textContent = `Page ${fmtInt(page)} of ${capped ? 'at least ' : ''}${fmtInt(pages)}`;
    $('#prev').disabled = page <= 1;
    $('#next').disabled = page >= pages;
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
