// Elements built from data, never from HTML strings: whatever text the API holds (a post, a
// comment from a stranger) is set as text, so nothing it contains runs.

export function h(tag, attrs = {}, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el && !(el instanceof SVGElement)) el.value = v;
    else if (k === 'checked' || k === 'selected') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/// Appends children as `h` does: arrays flattened, null, undefined and false skipped.
export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const svg = (tag, attrs, ...children) => h('svg:' + tag, attrs, ...children);

let ids = 0;
export const uid = (prefix = 'id') => `${prefix}-${++ids}`;

/// A labelled form field: the label's text is exactly `label`.
export function field(label, input, hint) {
  const id = input.id || uid('f');
  input.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('span', { class: 'hint', id: id + '-hint' }, hint);
    input.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

/// Says something to screen readers (and shows nothing).
export function announce(text) {
  const s = document.getElementById('status');
  s.textContent = '';
  setTimeout(() => { s.textContent = text; }, 30);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/// An error message where the failure happened: the problem's detail and its fields.
export function errorBox(err) {
  const box = h('div', { class: 'error', role: 'alert' }, err.message || String(err));
  const said = (e) => (e.field ? `${e.field}: ${e.message}` : e.message);
  const same = err.errors && err.errors.length === 1 && said(err.errors[0]) === err.message;
  if (err.errors && err.errors.length && !same) {
    box.append(h('ul', {}, err.errors.map((e) => h('li', {}, said(e)))));
  }
  return box;
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/// A table that may scroll sideways on a narrow screen: a named region a keyboard can reach
/// (and scroll with the arrow keys).
export function tableWrap(label, ...children) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label }, ...children);
}
