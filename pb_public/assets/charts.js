// Small SVG and HTML charts, drawn by hand: a histogram, the circle of
// fifths and bar lists. Each comes with a text alternative (a table).

import { el, fmtInt, fmtNum } from './app.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// niceStep picks a round step for about n ticks up to max.
function niceStep(max, n = 4) {
  if (max <= 0) return 1;
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * mag >= raw) return Math.max(1, m * mag);
  }
  return 10 * mag;
}

function dataTable(caption, headers, rows) {
  return el('details', { class: 'as-table' },
    el('summary', {}, 'Show the numbers'),
    el('div', { class: 'table-wrap' },
      el('table', {},
        el('caption', { class: 'visually-hidden' }, caption),
        el('thead', {}, el('tr', {}, headers.map((h, i) => el('th', { scope: 'col', class: i ? 'num' : null }, h)))),
        el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c, i) => el(i ? 'td' : 'th', i ? { class: 'num' } : { scope: 'row' }, c))))))));
}

// tempoHistogram draws songs per 5-BPM bin from 40 to 220, at the pixel
// width given (so that its text stays legible at every size).
// bins: [{bpm, count}] (missing bins count 0).
export function tempoHistogram(bins, width = 640) {
  const counts = new Map();
  for (const b of bins || []) counts.set(Number(b.bpm), (counts.get(Number(b.bpm)) || 0) + Number(b.count || 0));
  const all = [];
  for (let bpm = 40; bpm < 220; bpm += 5) all.push({ bpm, count: counts.get(bpm) || 0 });
  const total = all.reduce((s, b) => s + b.count, 0);
  const fig = el('figure', { class: 'chart' });
  if (!total) {
    fig.append(el('p', { class: 'chart-empty' }, 'No songs with a tempo yet.'));
    return fig;
  }
  const W = Math.max(260, Math.round(width));
  const H = Math.round(Math.min(320, Math.max(190, W * 0.38)));
  const ml = 40, mr = 8, mt = 10, mb = 42;
  const pw = W - ml - mr, ph = H - mt - mb;
  const max = Math.max(...all.map((b) => b.count));
  const step = niceStep(max, ph > 200 ? 5 : 3);
  const top = Math.ceil(max / step) * step;
  const bw = pw / all.length;
  const y = (v) => mt + ph - (v / top) * ph;

  // the busiest range, for the text alternative
  const peak = all.reduce((a, b) => (b.count > a.count ? b : a));
  const label = `Tempo histogram of ${fmtInt(total)} songs in bins of 5 BPM from 40 to 220; ` +
    `the most common range is ${peak.bpm}–${peak.bpm + 5} BPM with ${fmtInt(peak.count)} songs.`;

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': label });
  const grid = svg('g', { class: 'axis' });
  for (let v = 0; v <= top; v += step) {
    grid.append(svg('line', { x1: ml, x2: W - mr, y1: y(v), y2: y(v) }),
      svg('text', { x: ml - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtInt(v)));
  }
  const xStep = pw > 480 ? 20 : 40;
  for (let bpm = 40; bpm <= 220; bpm += xStep) {
    const x = ml + ((bpm - 40) / 5) * bw;
    grid.append(svg('line', { x1: x, x2: x, y1: mt + ph, y2: mt + ph + 5 }),
      svg('text', { x, y: mt + ph + 19, 'text-anchor': 'middle' }, bpm));
  }
  grid.append(svg('text', { x: ml + pw / 2, y: H - 3, 'text-anchor': 'middle' }, 'beats per minute'));
  root.append(grid);
  const bars = svg('g');
  for (const [i, b] of all.entries()) {
    if (!b.count) continue;
    const h = Math.max(1, (b.count / top) * ph);
    bars.append(svg('rect', { class: 'bar', x: ml + i * bw + 1, y: mt + ph - h, width: Math.max(1, bw - 2), height: h, rx: 2 },
      svg('title', {}, `${b.bpm}–${b.bpm + 5} BPM: ${fmtInt(b.count)} ${b.count === 1 ? 'song' : 'songs'}`)));
  }
  root.append(bars);
  fig.append(root);
  fig.append(dataTable('Songs per tempo range', ['Tempo (BPM)', 'Songs'],
    all.filter((b) => b.count).map((b) => [`${b.bpm}–${b.bpm + 5}`, fmtInt(b.count)])));
  return fig;
}

// drawResponsive renders draw(width) into container now and again when the
// container's width changes.
export function drawResponsive(container, draw) {
  let last = -1;
  const render = () => {
    const w = Math.round(container.clientWidth);
    if (w === last || w === 0) return;
    last = w;
    const open = container.querySelector('details')?.open;
    container.replaceChildren(draw(w));
    if (open) container.querySelector('details').open = true;
  };
  render();
  if ('ResizeObserver' in window) new ResizeObserver(render).observe(container);
}

// Circle of fifths, clockwise from C at the top; stored keys use sharps.
const FIFTHS = ['C', 'G', 'D', 'A', 'E', 'B', 'F#', 'C#', 'G#', 'D#', 'A#', 'F'];
const MAJOR_NAMES = { C: 'C', G: 'G', D: 'D', A: 'A', E: 'E', B: 'B', 'F#': 'F♯', 'C#': 'D♭', 'G#': 'A♭', 'D#': 'E♭', 'A#': 'B♭', F: 'F' };
const RELATIVE_MINOR = ['A', 'E', 'B', 'F#', 'C#', 'G#', 'D#', 'A#', 'F', 'C', 'G', 'D'];
const MINOR_NAMES = { A: 'Am', E: 'Em', B: 'Bm', 'F#': 'F♯m', 'C#': 'C♯m', 'G#': 'G♯m', 'D#': 'E♭m', 'A#': 'B♭m', F: 'Fm', C: 'Cm', G: 'Gm', D: 'Dm' };

function arcPath(cx, cy, r0, r1, a0, a1) {
  const p = (r, a) => [cx + r * Math.cos(a), cy + r * Math.sin(a)].map((v) => v.toFixed(2)).join(' ');
  return `M ${p(r1, a0)} A ${r1} ${r1} 0 0 1 ${p(r1, a1)} L ${p(r0, a1)} A ${r0} ${r0} 0 0 0 ${p(r0, a0)} Z`;
}

// circleOfFifths draws key/scale counts: major keys on the outer ring,
// their relative minors inside. keys: [{key, scale, count}].
export function circleOfFifths(keys) {
  const count = (k, s) => (keys || []).filter((x) => x.key === k && x.scale === s).reduce((a, x) => a + Number(x.count || 0), 0);
  const major = FIFTHS.map((k) => ({ key: k, name: MAJOR_NAMES[k], count: count(k, 'major') }));
  const minor = RELATIVE_MINOR.map((k) => ({ key: k, name: MINOR_NAMES[k], count: count(k, 'minor') }));
  const totalMajor = major.reduce((a, x) => a + x.count, 0);
  const totalMinor = minor.reduce((a, x) => a + x.count, 0);
  const total = totalMajor + totalMinor;
  const fig = el('figure', { class: 'chart' });
  if (!total) {
    fig.append(el('p', { class: 'chart-empty' }, 'No songs with a key yet.'));
    return fig;
  }
  const max = Math.max(...major.map((x) => x.count), ...minor.map((x) => x.count));
  const top = [...major.map((x) => ({ ...x, scale: 'major' })), ...minor.map((x) => ({ ...x, scale: 'minor' }))]
    .sort((a, b) => b.count - a.count)[0];
  const label = `Circle of fifths: ${fmtInt(total)} songs by key, ${Math.round((100 * totalMajor) / total)}% in major keys; ` +
    `the most common key is ${top.name}${top.scale === 'major' ? ' major' : ''} with ${fmtInt(top.count)} songs.`;

  const S = 340, c = S / 2;
  const root = svg('svg', { viewBox: `0 0 ${S} ${S}`, role: 'img', 'aria-label': label, class: 'fifths' });
  const ring = (items, r0, r1, scale) => {
    const g = svg('g');
    items.forEach((x, i) => {
      const mid = -Math.PI / 2 + (i * Math.PI) / 6;
      const a0 = mid - Math.PI / 12, a1 = mid + Math.PI / 12;
      const t = max ? x.count / max : 0;
      const stored = x.key.replace('#', '♯');
      const title = `${x.name}${scale === 'major' ? ' major' : ' (minor)'}` +
        (x.name.replace('m', '') !== stored ? ` — stored as ${stored} ${scale}` : '') +
        `: ${fmtInt(x.count)} ${x.count === 1 ? 'song' : 'songs'} (${fmtNum((100 * x.count) / total, 1)}%)`;
      g.append(svg('path', { class: 'fifths-seg', d: arcPath(c, c, r0, r1, a0, a1), 'fill-opacity': (0.07 + 0.93 * t).toFixed(3) },
        svg('title', {}, title)));
      const rm = (r0 + r1) / 2;
      g.append(svg('text', {
        class: `fifths-label ${scale}${t > 0.55 ? ' on-strong' : ''}`,
        x: (c + rm * Math.cos(mid)).toFixed(1), y: (c + rm * Math.sin(mid)).toFixed(1),
      }, x.name));
    });
    return g;
  };
  root.append(ring(major, 108, 166, 'major'), ring(minor, 62, 106, 'minor'));
  root.append(
    svg('text', { class: 'fifths-center big', x: c, y: c - 4 }, `${Math.round((100 * totalMajor) / total)}%`),
    svg('text', { class: 'fifths-center', x: c, y: c + 16 }, 'major'));
  fig.append(root);
  fig.append(el('div', { class: 'legend' },
    el('span', {}, 'Outer ring: major keys. Inner ring: their relative minors. Darker = more songs.')));
  const rows = [];
  for (let i = 0; i < 12; i++) {
    rows.push([`${major[i].name} major / ${minor[i].name.replace(/m$/, '')} minor`, fmtInt(major[i].count), fmtInt(minor[i].count)]);
  }
  fig.append(dataTable('Songs per key', ['Key', 'Major', 'Minor'], rows));
  return fig;
}

// barList draws labelled horizontal bars.
// items: [{label, value, text?}], value in [0, max]; max defaults to the largest value.
export function barList(items, { max, alt = false, label } = {}) {
  const m = max ?? Math.max(0, ...items.map((x) => x.value));
  const ul = el('ul', { class: `bars${alt ? ' alt' : ''}`, 'aria-label': label });
  for (const x of items) {
    const fill = el('span', { class: 'fill' });
    fill.style.width = `${m > 0 ? Math.max(1, Math.min(100, (100 * x.value) / m)) : 0}%`;
    ul.append(el('li', {},
      el('span', { class: 'name', title: x.label }, x.label),
      el('span', { class: 'track', 'aria-hidden': 'true' }, fill),
      el('span', { class: 'val' }, x.text ?? fmtNum(x.value, 2))));
  }
  return ul;
}
