// API: the service routes as this server's OpenAPI document describes
// them (/api/songcommons/openapi.json), rendered as lists.

import { api, showError, el, $ } from './app.js';

const refName = (s) => (s && s.$ref ? s.$ref.split('/').pop() : null);
const anchor = (name) => `schema-${name}`;

// typeOf says a schema's type in words, linking to named schemas.
function typeOf(s) {
  if (!s) return 'any value';
  const name = refName(s);
  if (name) return el('a', { href: `#${anchor(name)}` }, name);
  if (s.anyOf) return el('span', {}, ...s.anyOf.flatMap((a, i) => (i ? [' or ', typeOf(a)] : [typeOf(a)])));
  if (s.type === 'array') return el('span', {}, 'array of ', typeOf(s.items));
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) {
    return el('span', {}, 'object of ', typeOf(s.additionalProperties));
  }
  return s.type || 'any value';
}

// limits says a schema's bounds in words.
function limits(s) {
  const out = [];
  if (s.minimum !== undefined) out.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) out.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) out.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined) out.push(`at least ${s.minLength} characters`);
  if (s.maxLength !== undefined) out.push(`at most ${s.maxLength} characters`);
  if (s.maxItems !== undefined) out.push(`at most ${s.maxItems} items`);
  return out.join(', ');
}

// fields lists an object schema's properties: name, type, required, what.
function fields(s) {
  if (!s) return el('p', { class: 'muted' }, 'No body.');
  if (!s.properties) return el('p', {}, typeOf(s), s.description ? ` — ${s.description}` : '');
  const required = new Set(s.required || []);
  return el('div', { class: 'table-wrap' }, el('table', { class: 'fields' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'field'), el('th', { scope: 'col' }, 'type'), el('th', { scope: 'col' }, 'what'))),
    el('tbody', {}, ...Object.entries(s.properties).map(([name, p]) => el('tr', {},
      el('td', {}, el('code', {}, name), required.has(name) ? ' (required)' : ''),
      el('td', {}, typeOf(p)),
      el('td', {}, [p.description, limits(p)].filter(Boolean).join('; ')))))));
}

function operation(path, method, op) {
  const id = op.operationId;
  const ok = Object.entries(op.responses).find(([code]) => code.startsWith('2'));
  const errors = Object.entries(op.responses).filter(([code]) => code !== 'default' && !code.startsWith('2'));
  const signIn = !(op.security || []).some((s) => Object.keys(s).length === 0);
  const body = op.requestBody?.content?.['application/json']?.schema;
  return el('section', { class: 'card operation', id, 'aria-labelledby': `${id}-h` },
    el('h2', { id: `${id}-h` }, el('code', {}, `${method.toUpperCase()} ${path}`)),
    el('p', {}, el('strong', {}, op.summary), op.description ? ` — ${op.description}` : ''),
    el('p', { class: 'muted' }, signIn ? 'Signed in (a contributor’s auth token in the Authorization header).' : 'Anyone.'),
    op.parameters ? [el('h3', {}, 'Query parameters'), fields({
      properties: Object.fromEntries(op.parameters.map((p) => [p.name, { ...p.schema, description: p.description }])),
      required: op.parameters.filter((p) => p.required).map((p) => p.name),
    })] : null,
    body ? [el('h3', {}, 'Request body'), fields(resolve(body))] : null,
    ok ? [el('h3', {}, `Answer: ${ok[0]} ${ok[1].description}`), fields(resolve(ok[1].content?.['application/json']?.schema))] : null,
    errors.length ? [el('h3', {}, 'Errors'), el('ul', {}, ...errors.sort().map(([code, r]) => el('li', {}, el('code', {}, code), ` ${r.description}`)))] : null);
}

let schemas = {};
// resolve shows a named object schema's fields in place.
const resolve = (s) => (refName(s) && schemas[refName(s)]?.properties ? schemas[refName(s)] : s);

async function main() {
  try {
    const doc = await api('/api/songcommons/openapi.json', { auth: false });
    schemas = doc.components?.schemas || {};
    const ops = [];
    for (const path of Object.keys(doc.paths).sort()) {
      for (const [method, op] of Object.entries(doc.paths[path])) ops.push([path, method, op]);
    }
    $('#toc').replaceChildren(...ops.map(([path, method, op]) => el('li', {},
      el('a', { href: `#${op.operationId}` }, el('code', {}, `${method.toUpperCase()} ${path}`)), ` ${op.summary}`)));
    $('#operations').replaceChildren(...ops.map(([path, method, op]) => operation(path, method, op)));
    $('#schemas').replaceChildren(...Object.keys(schemas).sort().map((name) => el('section', { class: 'card', id: anchor(name) },
      el('h3', {}, name), schemas[name].description ? el('p', {}, schemas[name].description) : null, fields(schemas[name]))));
    document.body.dataset.ready = 'true';
  } catch (err) {
    showError($('#operations'), err, { title: 'The API document could not be loaded.' });
  }
}

main();
