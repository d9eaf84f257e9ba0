// util.js -- small helpers: building elements, times in the enterprise's time zone.

// h('div', {class: 'x', dataset: {id: 1}, onclick: fn}, child, 'text', ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Text for a Leaflet tooltip or popup: an element, never a string, which Leaflet would insert as
// HTML (names and messages come from users: no markup of theirs may reach the page).
export function textEl(text) {
  return h('span', {}, text);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// The server's clock, as its replies' Date headers tell it (api.js): "today" and "the last 7
// days" are the server's, not those of a dispatcher's PC whose clock is off.
let skewMs = 0;

export function noteServerDate(header) {
  const ms = Date.parse(header || '');
  // Date has whole seconds: only a difference beyond them is a skew.
  if (Number.isFinite(ms) && Math.abs(ms - Date.now() - skewMs) > 1500) skewMs = ms - Date.now();
}

export function now() {
  return Date.now() + skewMs;
}

// The enterprise's offset from UTC, minutes (utc_offset_min; China: 480).
let offsetMin = 480;

export function setUtcOffset(minutes) {
  offsetMin = Number.isFinite(minutes) ? minutes : 480;
}

export function utcOffsetLabel() {
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const mm = abs % 60;
  return `${sign}${Math.floor(abs / 60)}${mm ? `:${String(mm).padStart(2, '0')}` : ''}`;
}

function shifted(instant) {
  const ms = typeof instant === 'number' ? instant : Date.parse(instant);
  return Number.isFinite(ms) ? new Date(ms + offsetMin * 60000) : null;
}

// "2026-12-07 10:31:05" in the enterprise's time zone; '' for nothing.
export function fmtTime(instant) {
  if (instant === null || instant === undefined) return '';
  const d = shifted(instant);
  return d ? d.toISOString().slice(0, 19).replace('T', ' ') : '';
}

export function fmtClock(instant) {
  return fmtTime(instant).slice(11);
}

// The enterprise's local day of an instant, "YYYY-MM-DD".
export function localDay(instant) {
  const d = shifted(instant);
  return d ? d.toISOString().slice(0, 10) : '';
}

// The UTC instant (ms) at which local day "YYYY-MM-DD" starts.
export function dayStartMs(day) {
  return Date.parse(`${day}T00:00:00Z`) - offsetMin * 60000;
}
