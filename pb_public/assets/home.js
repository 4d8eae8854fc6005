// Home: live counts and charts of the dataset.

import { api, ApiError, getStatus, showError, el, $, fmtInt, fmtNum, parseLabels } from './app.js';
import { tempoHistogram, circleOfFifths, barList, drawResponsive } from './charts.js';

function stat(value, label, id) {
  return el('div', { class: 'stat', id }, el('span', { class: 'value' }, value), el('span', { class: 'label' }, label));
}

async function loadCounts() {
  const box = $('#counts');
  try {
    const s = await getStatus();
    const items = [
      stat(fmtInt(s.songs), s.songs === 1 ? 'song' : 'songs', 'count-songs'),
      stat(fmtInt(s.contributions), s.contributions === 1 ? 'contributed analysis' : 'contributed analyses', 'count-contributions'),
    ];
    const models = (s.models || []).map((m) => m.name);
    for (const name of Object.keys(s.embeddings || {})) if (!models.includes(name)) models.push(name);
    for (const name of models) {
      const dim = (s.models || []).find((m) => m.name === name)?.dim;
      const card = stat(fmtInt(s.embeddings?.[name] || 0), `${name} embeddings`, `count-emb-${name}`);
      if (dim) card.title = `${name}: ${dim} numbers per song`;
      items.push(card);
    }
    box.replaceChildren(...items);
  } catch (err) {
    box.replaceChildren();
    showError($('#status-error'), err, { title: 'The dataset counts could not be loaded.' });
  }
}

// statsFromSample computes the charts from up to 500 songs when the server
// has no statistics route (older servers).
async function statsFromSample() {
  const page = await api('/api/collections/songs/records?perPage=500&skipTotal=1&fields=tempo,key,scale,mood_vector');
  const tempo = new Map(), keys = new Map(), moods = new Map();
  for (const s of page.items || []) {
    if (s.tempo > 0) {
      const bpm = Math.floor(Math.min(Math.max(s.tempo, 40), 219.99) / 5) * 5;
      tempo.set(bpm, (tempo.get(bpm) || 0) + 1);
    }
    if (s.key) keys.set(`${s.key}|${s.scale}`, (keys.get(`${s.key}|${s.scale}`) || 0) + 1);
    const top = parseLabels(s.mood_vector)[0];
    if (top) {
      const k = top.label.toLowerCase(); // labels that differ only in case are one
      const m = moods.get(k) || { label: top.label, songs: 0, sum: 0 };
      m.songs++; m.sum += top.score; moods.set(k, m);
    }
  }
  return {
    songs: (page.items || []).length,
    sample: true,
    tempo: [...tempo].map(([bpm, count]) => ({ bpm, count })),
    keys: [...keys].map(([k, count]) => ({ key: k.split('|')[0], scale: k.split('|')[1], count })),
    moods: [...moods.values()].sort((a, b) => b.songs - a.songs).slice(0, 15)
      .map((m) => ({ label: m.label, songs: m.songs, mean: m.sum / m.songs })),
  };
}

async function loadStats() {
  let st;
  try {
    try {
      st = await api('/api/songcommons/stats');
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
      st = await statsFromSample();
    }
  } catch (err) {
    for (const id of ['#chart-tempo', '#chart-keys', '#chart-moods']) $(id).replaceChildren();
    showError($('#stats-error'), err, { title: 'The statistics could not be loaded.' });
    return;
  }
  drawResponsive($('#chart-tempo'), (w) => tempoHistogram(st.tempo, w));
  $('#chart-keys').replaceChildren(circleOfFifths(st.keys));
  const moods = (st.moods || []).slice(0, 15);
  $('#chart-moods').replaceChildren(moods.length
    ? barList(moods.map((m) => ({ label: m.label, value: m.songs, text: `${fmtInt(m.songs)} · ${fmtNum(m.mean, 2)}` })),
      { label: 'Songs per strongest mood' })
    : el('p', { class: 'chart-empty' }, 'No moods yet.'));
  $('#stats-note').textContent = !st.songs ? 'The dataset has no songs yet: the charts fill up as analyses are contributed.' : st.sample
    ? `Charts computed from a sample of ${fmtInt(st.songs)} songs.`
    : `Charts of all ${fmtInt(st.songs)} songs (consensus of their contributions)${st.computed ? `, computed ${st.computed.replace('T', ' ').replace('Z', ' UTC')}` : ''}.`;
}

function fillExamples() {
  for (const id of ['#ex-lookup', '#ex-similar']) {
    const code = $(id);
    code.textContent = code.textContent.replace('https://THIS-SERVER', location.origin);
  }
}

fillExamples();
loadCounts();
loadStats();
