// Reading an upload file (JSONL, CSV or JSON) into songs for
// POST /api/songcommons/contribute, with the server's validation rules
// (songdata/fields.go, songdata/contribution.go) checked row by row before
// anything is sent. Pure functions: no DOM, no network.

export const MAX_TEXT = 512;
export const MAX_ANALYZER = 128;
export const MAX_TEMPO = 400;
export const MAX_DURATION = 24 * 3600;
export const MAX_ENERGY = 1000;
export const MAX_LABELS = 64;
export const MAX_FINGERPRINT = 40000;
export const MAX_FINGERPRINT_ITEMS = 12000;
export const DEFAULT_MODELS = [{ name: 'clap', dim: 512 }, { name: 'musicnn', dim: 200 }];

const IDENTITY = ['artist', 'title', 'album', 'duration', 'mbid', 'isrc', 'analyzer'];
const ANALYSIS = ['tempo', 'key', 'scale', 'mood_vector', 'energy', 'other_features'];
// the audio fingerprint: fpcalc's FINGERPRINT, or its -raw integers as fingerprint_raw
const AUDIO = ['fingerprint'];
const FINGERPRINT_RE = /^[A-Za-z0-9_-]+$/;
const NUMERIC = new Set(['tempo', 'energy', 'duration']);
// Fields of exported rows that the server computes or chooses: dropped.
const IGNORED = new Set(['id', 'item_id', 'song_key', 'collectionId', 'collectionName', 'created', 'updated', 'receipt', 'day']);
const PITCH = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];
const LETTER = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };
const LABEL_RE = /^[A-Za-z0-9 _-]{1,32}$/;
const MBID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISRC_RE = /^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

// normalizeKey mirrors songdata.NormalizeKey: "Db" → "C#".
export function normalizeKey(s) {
  let k = String(s).trim().replace(/♯/g, '#').replace(/♭/g, 'b');
  if (!k) return null;
  const pc = LETTER[k[0].toUpperCase()];
  if (pc === undefined) return null;
  const rest = k.slice(1);
  let p = pc;
  if (rest === '#') p++;
  else if (rest === 'b') p--;
  else if (rest !== '') return null;
  return PITCH[(p + 12) % 12];
}

// checkLabels mirrors songdata.ParseLabels; returns an error message or null.
export function checkLabels(s) {
  s = s.trim();
  if (!s) return null;
  const parts = s.split(',');
  if (parts.length > MAX_LABELS) return `has ${parts.length} entries; at most ${MAX_LABELS} are allowed`;
  const seen = new Set();
  for (const [i, p] of parts.entries()) {
    const c = p.lastIndexOf(':');
    if (c < 0) return `entry ${i + 1} ("${clip(p)}") is not label:score`;
    const name = p.slice(0, c).trim();
    if (!LABEL_RE.test(name)) return `entry ${i + 1}: label "${clip(name)}" must be 1-32 characters of a-z, A-Z, 0-9, space, _ or -`;
    const raw = p.slice(c + 1).trim();
    const v = raw === '' ? NaN : Number(raw);
    if (!Number.isFinite(v)) return `entry ${i + 1} ("${clip(p)}"): the score is not a finite number`;
    if (v < 0 || v > 1) return `entry ${i + 1} ("${clip(p)}"): the score must be between 0 and 1`;
    // labels that differ only in case are one label
    if (seen.has(name.toLowerCase())) return `label "${name}" appears twice`;
    seen.add(name.toLowerCase());
  }
  return null;
}

function clip(s) { return s.length > 40 ? s.slice(0, 40) + '…' : s; }

function checkText(v, max) {
  if (typeof v !== 'string') return { err: 'must be a string' };
  if (v.includes('\uFFFD')) return { err: 'is not valid UTF-8 text' };
  const s = v.trim();
  if (CONTROL_RE.test(s)) return { err: 'must not contain control characters (such as tabs or line breaks)' };
  const n = [...s].length;
  if (n > max) return { err: `is ${n} characters long; at most ${max} are allowed` };
  return { value: s };
}

// parseVector accepts an array of numbers or a JSON string holding one.
function parseVector(v) {
  if (typeof v === 'string') {
    const t = v.trim();
    if (!t.startsWith('[')) return { err: 'must be a JSON array of numbers' };
    try { v = JSON.parse(t); } catch { return { err: 'must be a JSON array of numbers' }; }
  }
  if (!Array.isArray(v)) return { err: 'must be an array of numbers' };
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number') return { err: `element ${i} is not a number` };
    if (!Number.isFinite(v[i])) return { err: `element ${i} is not a finite number` };
  }
  return { value: v };
}

// checkSong validates one song object (already in /contribute's shape) and
// returns the field errors as [{field, message}].
export function checkSong(song, models = DEFAULT_MODELS) {
  const errs = [];
  const fail = (field, message) => { if (!errs.some((e) => e.field === field)) errs.push({ field, message }); };
  const allowed = new Set([...IDENTITY, ...ANALYSIS, ...AUDIO, 'fingerprint_raw', 'embeddings']);
  for (const k of Object.keys(song)) {
    if (!allowed.has(k)) fail(k, `unknown field "${k}" (expected ${[...IDENTITY, ...ANALYSIS, ...AUDIO, 'fingerprint_raw'].join(', ')}, or embeddings)`);
  }
  const present = (k) => song[k] !== undefined && song[k] !== null;
  const hasScore = ANALYSIS.some(present);
  const embs = present('embeddings') ? song.embeddings : null;
  if (embs !== null && (typeof embs !== 'object' || Array.isArray(embs))) {
    fail('embeddings', 'embeddings must be an object such as {"musicnn":[…200 numbers…]}');
  }
  const embModels = embs && typeof embs === 'object' && !Array.isArray(embs) ? Object.keys(embs) : [];
  if (!hasScore && embModels.length === 0) {
    if (!errs.some((e) => e.field === 'embeddings')) fail('tempo', 'each song needs its analysis (tempo, key, scale…) and/or embeddings');
    return errs;
  }

  // identity
  for (const [f, max, required] of [['artist', MAX_TEXT, true], ['title', MAX_TEXT, true], ['album', MAX_TEXT, false], ['analyzer', MAX_ANALYZER, false]]) {
    if (!present(f)) { if (required) fail(f, `${f} is required`); continue; }
    const t = checkText(song[f], max);
    if (t.err) fail(f, `${f} ${t.err}`);
    else if (required && !t.value) fail(f, `${f} is required and must not be blank`);
  }
  const num = (f) => {
    if (!present(f)) return undefined;
    if (typeof song[f] !== 'number') { fail(f, `${f} must be a number`); return null; }
    if (!Number.isFinite(song[f])) { fail(f, `${f} must be a finite number`); return null; }
    return song[f];
  };
  const d = num('duration');
  if (typeof d === 'number' && d !== 0 && (d < 0 || d > MAX_DURATION)) fail('duration', `duration must be a number of seconds between 0 and ${MAX_DURATION}`);
  if (present('mbid')) {
    const t = checkText(song.mbid, 64);
    if (t.err) fail('mbid', `mbid ${t.err}`);
    else if (t.value && !MBID_RE.test(t.value.toLowerCase())) fail('mbid', 'mbid must be a MusicBrainz recording id (a UUID such as 5b11f4ce-a62d-471e-81fc-a69a8278c7da)');
  }
  if (present('isrc')) {
    const t = checkText(song.isrc, 32);
    if (t.err) fail('isrc', `isrc ${t.err}`);
    else if (t.value && !ISRC_RE.test(t.value.toUpperCase().replace(/[- ]/g, ''))) fail('isrc', 'isrc must be an ISRC of 12 characters such as USRC17607839');
  }

  // the fingerprint: its form here, its content on the server (which
  // decodes it and says what is wrong); an empty one (as dumps write a
  // row without) is none
  const hasPrint = present('fingerprint') && song.fingerprint !== '';
  const hasRaw = present('fingerprint_raw');
  if (hasPrint && hasRaw) fail('fingerprint_raw', 'give fingerprint or fingerprint_raw, not both');
  else if (hasPrint) {
    const t = checkText(song.fingerprint, MAX_FINGERPRINT);
    if (t.err) fail('fingerprint', `fingerprint ${t.err}`);
    else if (t.value && !FINGERPRINT_RE.test(t.value)) fail('fingerprint', 'fingerprint must be the text fpcalc prints after FINGERPRINT= (letters, digits, - and _)');
  } else if (hasRaw) {
    const r = song.fingerprint_raw;
    if (!Array.isArray(r) || !r.every((x) => Number.isInteger(x))) fail('fingerprint_raw', 'fingerprint_raw must be an array of integers, as fpcalc -raw prints them');
    else if (r.length > MAX_FINGERPRINT_ITEMS) fail('fingerprint_raw', `fingerprint_raw has ${r.length} values, at most ${MAX_FINGERPRINT_ITEMS}`);
  }
  if ((hasPrint || hasRaw) && !(typeof d === 'number' && d > 0)) {
    fail('duration', 'duration is required with a fingerprint: the recording\'s length in seconds, as fpcalc prints it (DURATION)');
  }

  if (hasScore) {
    const tempo = num('tempo');
    if (tempo === undefined) fail('tempo', `tempo is required: beats per minute, greater than 0 and at most ${MAX_TEMPO}`);
    else if (typeof tempo === 'number' && (tempo <= 0 || tempo > MAX_TEMPO)) fail('tempo', `tempo must be greater than 0 and at most ${MAX_TEMPO} beats per minute`);
    for (const f of ['key', 'scale']) {
      if (!present(f)) { fail(f, f === 'key' ? 'key is required' : 'scale is required: major or minor'); continue; }
      const t = checkText(song[f], 16);
      if (t.err) { fail(f, `${f} ${t.err}`); continue; }
      if (!t.value) { fail(f, `${f} is required and must not be blank`); continue; }
      if (f === 'key' && !normalizeKey(t.value)) fail('key', `"${t.value}" is not a key: use one of ${PITCH.join(', ')} (flats such as Db are accepted)`);
      if (f === 'scale' && !['major', 'minor'].includes(t.value.toLowerCase())) fail('scale', `"${t.value}" is not a scale: use major or minor`);
    }
    const energy = num('energy');
    if (typeof energy === 'number' && (energy < 0 || energy > MAX_ENERGY)) fail('energy', `energy must be between 0 and ${MAX_ENERGY}`);
    for (const f of ['mood_vector', 'other_features']) {
      if (!present(f)) continue;
      const t = checkText(song[f], 64 * (32 + 24));
      if (t.err) { fail(f, `${f} ${t.err}`); continue; }
      const e = checkLabels(t.value);
      if (e) fail(f, `${f} ${e} (expected "label:score,…", e.g. "rock:0.51,pop:0.3")`);
    }
  }

  for (const m of embModels.sort()) {
    const field = `embeddings.${m}`;
    const model = models.find((x) => x.name === m.toLowerCase().trim());
    if (!model) { fail(field, `unknown model "${m}": known models are ${models.map((x) => `${x.name} (${x.dim})`).join(', ')}`); continue; }
    const v = song.embeddings[m];
    if (v === null || v === undefined || v === '') { fail(field, `embedding is required: an array of ${model.dim} numbers`); continue; }
    const p = parseVector(v);
    if (p.err) { fail(field, `embedding ${p.err}`); continue; }
    if (p.value.length !== model.dim) { fail(field, `embedding has ${p.value.length} values but model ${model.name} needs ${model.dim}`); continue; }
    if (p.value.every((x) => Math.fround(x) === 0)) fail(field, 'embedding must not be all zeros');
  }
  return errs;
}

// toSong turns one input object (a JSONL line, a JSON item, a CSV row) into
// the /contribute shape: server-computed fields are dropped, "author" is
// read as artist, and a single "embedding" (array or JSON string, with an
// optional "model") becomes embeddings[model]. Returns {song, errors}.
export function toSong(obj, models = DEFAULT_MODELS) {
  const song = {};
  const errors = [];
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    return { song: null, errors: [{ field: '', message: 'is not an object with song fields' }] };
  }
  let single, modelName;
  for (const [k, v] of Object.entries(obj)) {
    if (IGNORED.has(k)) continue;
    if (k === 'author' && obj.artist === undefined) { song.artist = v; continue; }
    if (k === 'embedding') { single = v; continue; }
    if (k === 'model') { modelName = v; continue; }
    if (k.startsWith('embeddings.')) {
      if (v !== null && v !== undefined && v !== '') (song.embeddings ||= {})[k.slice(11)] = v;
      continue;
    }
    if (k === 'embeddings' && (v === null || v === undefined)) continue;
    song[k] = v;
  }
  if (single !== undefined && single !== null && single !== '') {
    let name = typeof modelName === 'string' ? modelName.trim().toLowerCase() : '';
    if (!name) {
      const p = parseVector(single);
      const def = models.find((m) => m.name === 'musicnn') || { name: 'musicnn', dim: 200 };
      if (p.value && p.value.length !== def.dim) {
        errors.push({ field: 'model', message: `model is required for a ${p.value.length}-dimensional vector: known models are ${models.map((x) => `${x.name} (${x.dim})`).join(', ')}` });
      }
      name = def.name;
    }
    if (song.embeddings && typeof song.embeddings === 'object') song.embeddings = { ...song.embeddings, [name]: single };
    else if (song.embeddings === undefined) song.embeddings = { [name]: single };
  }
  // a vector given as a JSON string is sent as an array
  if (song.embeddings && typeof song.embeddings === 'object' && !Array.isArray(song.embeddings)) {
    for (const [m, v] of Object.entries(song.embeddings)) {
      if (typeof v === 'string') {
        const p = parseVector(v);
        if (p.value) song.embeddings[m] = p.value;
      }
    }
  }
  return { song, errors };
}

// parseCSV reads RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into
// rows of cells, each with the line it starts on.
export function parseCSV(text) {
  const rows = [];
  let row = [], cell = '', quoted = false, line = 1, rowLine = 1, i = 0;
  const n = text.length;
  let sawAny = false;
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      if (ch === '\n') line++;
      cell += ch; i++; continue;
    }
    if (ch === '"' && cell === '') { quoted = true; sawAny = true; i++; continue; }
    if (ch === ',') { row.push(cell); cell = ''; sawAny = true; i++; continue; }
    if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      i++;
      row.push(cell);
      if (sawAny || row.some((c) => c !== '')) rows.push({ line: rowLine, cells: row });
      row = []; cell = ''; sawAny = false; line++; rowLine = line;
      continue;
    }
    cell += ch; sawAny = true; i++;
  }
  if (cell !== '' || row.length || sawAny) {
    row.push(cell);
    if (row.some((c) => c !== '')) rows.push({ line: rowLine, cells: row });
  }
  return rows;
}

// csvValue mirrors the dataset package's csvValue: a CSV export writes a
// cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR) or
// that starts with a single quote with one more single quote in front; one
// such quote is removed here.
function csvValue(s) {
  return s !== undefined && s.length >= 2 && s[0] === "'" && "=+-@\t\r'".includes(s[1]) ? s.slice(1) : s;
}

function csvRows(text, models) {
  const all = parseCSV(text);
  if (!all.length) return { rows: [], fileErrors: ['The CSV file is empty.'] };
  const header = all[0].cells.map((h) => h.trim().replace(/^\uFEFF/, ''));
  const fileErrors = [];
  if (!header.includes('artist') && !header.includes('author')) fileErrors.push('The CSV header has no "artist" column. The first line must name the columns, e.g. artist,title,tempo,key,scale,mood_vector,energy,other_features.');
  if (!header.includes('title')) fileErrors.push('The CSV header has no "title" column.');
  const rows = [];
  for (const r of all.slice(1)) {
    const obj = {};
    const errors = [];
    if (r.cells.length !== header.length) {
      errors.push({ field: '', message: `has ${r.cells.length} cells but the header has ${header.length} columns` });
    }
    header.forEach((h, j) => {
      const raw = csvValue(r.cells[j]);
      if (raw === undefined || raw.trim() === '') return;
      if (NUMERIC.has(h)) {
        const v = Number(raw.trim());
        obj[h] = Number.isFinite(v) ? v : raw; // a non-number is reported by checkSong
      } else {
        obj[h] = raw;
      }
    });
    rows.push(finish(obj, `line ${r.line}`, r.line, models, errors));
  }
  return { rows, fileErrors };
}

function finish(obj, label, n, models, errors = []) {
  const { song, errors: convErrors } = toSong(obj, models);
  errors = [...errors, ...convErrors];
  if (song) {
    for (const e of checkSong(song, models)) if (!errors.some((x) => x.field === e.field)) errors.push(e);
  }
  const name = song && typeof song.artist === 'string' && typeof song.title === 'string'
    ? `${song.artist.trim()} — ${song.title.trim()}` : '';
  return { n, label, name, song, errors };
}

// parseUpload reads a file's text. name is the file name (its extension
// hints the format). Returns {format, rows:[{n, label, name, song, errors}], fileErrors}.
export function parseUpload(text, name = '', models = DEFAULT_MODELS) {
  text = text.replace(/^\uFEFF/, '');
  const ext = (name.split('.').pop() || '').toLowerCase();
  const trimmed = text.trimStart();
  if (!trimmed) return { format: 'empty', rows: [], fileErrors: ['The file is empty.'] };
  if (ext === 'csv' || (!['json', 'jsonl', 'ndjson'].includes(ext) && !/^[[{]/.test(trimmed))) {
    return { format: 'CSV', ...csvRows(text, models) };
  }
  // a whole-file JSON document (array, {"songs":[…]}, or one object)
  if (ext !== 'jsonl' && ext !== 'ndjson') {
    let doc;
    let parsed = false;
    try { doc = JSON.parse(text); parsed = true; } catch { /* JSONL, or broken */ }
    if (parsed) {
      let items = null;
      if (Array.isArray(doc)) items = doc;
      else if (doc && typeof doc === 'object' && Array.isArray(doc.songs)) items = doc.songs;
      else if (doc && typeof doc === 'object' && Array.isArray(doc.items)) items = doc.items;
      else if (doc && typeof doc === 'object') items = [doc];
      if (!items) return { format: 'JSON', rows: [], fileErrors: ['The JSON file holds no list of songs: expected an array of song objects or {"songs":[…]}.'] };
      return { format: 'JSON', rows: items.map((o, i) => finish(o, `item ${i + 1}`, i + 1, models)), fileErrors: [] };
    }
    if (trimmed[0] === '[') {
      return { format: 'JSON', rows: [], fileErrors: ['The file is not valid JSON: check for a missing comma or bracket.'] };
    }
  }
  // JSONL: one JSON object per line
  const rows = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    let obj;
    try { obj = JSON.parse(l); } catch {
      rows.push({ n: i + 1, label: `line ${i + 1}`, name: '', song: null, errors: [{ field: '', message: 'is not valid JSON' }] });
      return;
    }
    rows.push(finish(obj, `line ${i + 1}`, i + 1, models));
  });
  return { format: 'JSONL', rows, fileErrors: [] };
}

// chunk splits songs into requests of at most max songs and about maxBytes
// of JSON each.
export function chunk(items, max = 500, maxBytes = 6 << 20) {
  const out = [];
  let cur = [], size = 0;
  for (const it of items) {
    const s = JSON.stringify(it.song).length + 1;
    if (cur.length && (cur.length >= max || size + s > maxBytes)) { out.push(cur); cur = []; size = 0; }
    cur.push(it); size += s;
  }
  if (cur.length) out.push(cur);
  return out;
}
