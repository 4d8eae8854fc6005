// Song page: the consensus of a song's contributions, with agreement, and
// its most similar songs per embedding model.

import { api, pb, getStatus, showError, errorBox, el, $, fmtInt, fmtNum, fmtPct, keyName, songURL, parseLabels, plural } from './app.js';
import { barList } from './charts.js';

const key = new URLSearchParams(location.search).get('key') || '';
const body = $('#song-body');
const article = $('#song');

function fail(err, title) {
  article.removeAttribute('aria-busy');
  $('#song-title').textContent = title;
  showError($('#song-error'), err);
}

function agreement(value, what) {
  if (value === undefined || value === null) return null;
  const fill = el('span', { class: 'fill' });
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, value)) * 100)}%`;
  return el('div', { class: 'agree' },
    `${fmtPct(value)} of the analyses agree on the ${what}`,
    el('span', { class: 'track', role: 'presentation' }, fill));
}

function fact(k, v, extra) {
  return el('div', { class: 'fact' }, el('span', { class: 'k' }, k), el('span', { class: 'v' }, v), extra);
}

function duration(sec) {
  if (!(sec > 0)) return null;
  const m = Math.floor(sec / 60), s = Math.round(sec % 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}

function render(s) {
  document.title = `${s.title} — ${s.artist} — songcommons`;
  $('#song-title').textContent = s.title || '(no title)';
  $('#song-artist').textContent = s.artist || '';
  const facts = el('div', { class: 'facts-grid' });
  facts.append(fact('Tempo', s.tempo > 0 ? `${fmtNum(s.tempo, 1)} BPM` : 'unknown',
    s.tempo > 0 ? agreement(s.tempo_agreement, 'tempo') : null));
  facts.append(fact('Key and scale', s.key ? keyName(s.key, s.scale) : 'unknown',
    s.key ? agreement(s.key_agreement, 'key and scale') : null));
  facts.append(fact('Energy', s.energy > 0 ? fmtNum(s.energy, 3) : 'unknown'));
  facts.append(fact('Contributions', fmtInt(s.contributions || 0),
    el('div', { class: 'agree' }, s.outliers > 0
      ? `${plural(s.outliers, 'analysis', 'analyses')} left out of the tempo consensus`
      : (s.contributions > 1 ? 'independent analyses of this song' : 'analysis of this song so far'))));
  facts.append(fact('Identified by', s.fingerprints > 0 ? 'its audio' : 'its tags',
    el('div', { class: 'agree', id: 'song-identity' }, s.fingerprints > 0
      ? `${plural(s.fingerprints, 'contribution', 'contributions')} carried an audio fingerprint: copies under other tags join this song`
      : 'artist and title only: no contribution carried an audio fingerprint yet')));
  body.replaceChildren(facts);

  const moods = parseLabels(s.mood_vector).slice(0, 15);
  const other = parseLabels(s.other_features).slice(0, 15);
  const grid = el('div', { class: 'grid grid-2' });
  grid.append(el('section', { class: 'card', 'aria-labelledby': 'moods-h' },
    el('h2', { id: 'moods-h' }, 'Moods'),
    moods.length ? barList(moods.map((m) => ({ label: m.label, value: m.score })), { max: 1, label: 'Mood scores' })
      : el('p', { class: 'muted' }, 'No moods for this song yet.'),
    el('p', { class: 'muted small' }, 'Mean score of each mood over the analyses, from 0 to 1.')));
  grid.append(el('section', { class: 'card', 'aria-labelledby': 'other-h' },
    el('h2', { id: 'other-h' }, 'Other features'),
    other.length ? barList(other.map((m) => ({ label: m.label, value: m.score })), { max: 1, alt: true, label: 'Other feature scores' })
      : el('p', { class: 'muted' }, 'No other features for this song yet.')));
  body.append(grid);

  const ids = [];
  if (s.album) ids.push(['Album', s.album]);
  if (duration(s.duration)) ids.push(['Duration', duration(s.duration)]);
  if (s.mbid) ids.push(['MusicBrainz recording', el('code', {}, s.mbid)]);
  if (s.isrc) ids.push(['ISRC', el('code', {}, s.isrc)]);
  ids.push(['Song key', el('code', {}, s.song_key)]);
  body.append(el('section', { 'aria-labelledby': 'ids-h' },
    el('h2', { id: 'ids-h' }, 'Identity'),
    el('div', { class: 'table-wrap' }, el('table', {}, el('tbody', {},
      ids.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, v))))))));

  const sim = el('section', { 'aria-labelledby': 'similar-h', id: 'similar' },
    el('h2', { id: 'similar-h' }, 'Most similar songs'));
  body.append(sim);
  loadSimilar(s, sim);
}

async function loadSimilar(s, section) {
  let models = Object.entries(s.embeddings || {}).filter(([, n]) => n > 0).map(([m]) => m);
  try {
    const st = await getStatus();
    const order = (st.models || []).map((m) => m.name);
    const rank = (m) => (m === 'musicnn' ? -1 : (order.indexOf(m) + 1 || 99));
    models.sort((a, b) => rank(a) - rank(b));
  } catch { /* keep the song's order */ }
  if (!models.length) {
    section.append(el('p', { class: 'muted' }, 'This song has no embeddings yet, so similar songs cannot be computed.'));
    return;
  }
  const grid = el('div', { class: 'grid grid-2' });
  section.append(grid);
  await Promise.all(models.map(async (model) => {
    const card = el('div', { class: 'card', 'data-model': model },
      el('h3', {}, `By ${model}`), el('p', { class: 'muted' }, 'Loading…'));
    grid.append(card);
    try {
      const res = await api(`/api/songcommons/similar?song=${encodeURIComponent(s.song_key)}&model=${encodeURIComponent(model)}&k=10`);
      const hits = res.results || [];
      card.lastChild.remove();
      if (!hits.length) {
        card.append(el('p', { class: 'muted' }, `No other song has a ${model} embedding yet.`));
        return;
      }
      card.append(el('ol', { class: 'similar' }, hits.map((h) => el('li', {},
        el('span', { class: 'score', title: 'cosine similarity, 1 = identical' }, Number(h.score).toFixed(3)),
        el('a', { href: songURL(h.song_key) }, `${h.title || h.song_key}`),
        el('span', { class: 'meta' }, [h.artist, h.tempo > 0 ? `${fmtNum(h.tempo, 1)} BPM` : '', h.key ? keyName(h.key, h.scale) : '']
          .filter(Boolean).join(' · '))))));
      card.append(el('p', { class: 'muted small' }, 'Score: cosine similarity of the songs’ embeddings (1 = the same).'));
    } catch (err) {
      card.lastChild.remove();
      card.append(errorBox(err));
    }
  }));
}

async function main() {
  if (!key) {
    fail(new Error('No song was given. Open a song from the search page.'), 'No song');
    return;
  }
  try {
    const res = await api(`/api/collections/songs/records?perPage=1&skipTotal=1&filter=${encodeURIComponent(pb.filter('song_key = {:k}', { k: key }))}`);
    const s = res.items && res.items[0];
    if (!s) {
      fail(new Error('No song with this key is in the dataset. It may have been deleted, or the link is incomplete.'), 'Song not found');
      return;
    }
    article.removeAttribute('aria-busy');
    render(s);
  } catch (err) {
    fail(err, 'The song could not be loaded');
  }
}

main();
