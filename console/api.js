// api.js -- the HTTP API (docs/http-api.md) as the console uses it: JSON calls with the session's
// bearer token, kept in this module's memory only (a reload logs in again), and the live feed
// (GET /v1/events), read with fetch() because EventSource cannot send an Authorization header.

import { noteServerDate } from './util.js';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.field = field || '';
  }
}

let token = null;
let onUnauthorized = () => {};

export function setToken(value) {
  token = value;
}

export function hasToken() {
  return token !== null;
}

// For a download that must carry the token (replay.js's exports).
export function currentToken() {
  return token;
}

// Called once when any call answers 401: the session ended (expired, logged out elsewhere).
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  noteServerDate(resp.headers.get('Date'));
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!resp.ok) {
    const err = (data && data.error) || {};
    if (resp.status === 401 && token) onUnauthorized();
    throw new ApiError(resp.status, err.code, err.message, err.field);
  }
  return data;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body ?? {});

// Every item of a paged list (?after=, next_after), at most maxPages pages of 1000.
export async function listAll(path, maxPages = 10) {
  const items = [];
  let after = null;
  for (let page = 0; page < maxPages; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const url = `${path}${sep}limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    const data = await get(url);
    items.push(...data.items);
    if (!data.next_after) break;
    after = data.next_after;
  }
  return items;
}

// Reads GET /v1/events until signal aborts, calling onEvent(type, data) per event and
// onState(true|false) as the stream opens and drops. Reconnects after a drop (2 s, doubling
// to 30 s) with Last-Event-ID, as docs/http-api.md describes.
export async function follow(path, onEvent, onState, signal) {
  let lastId = null;
  let delay = 2000;
  while (!signal.aborted) {
    try {
      const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
      if (lastId) headers['Last-Event-ID'] = lastId;
      const resp = await fetch(path, { headers, signal, cache: 'no-store' });
      if (resp.status === 401) {
        onUnauthorized();
        return;
      }
      if (!resp.ok) throw new ApiError(resp.status, 'stream', `live feed: HTTP ${resp.status}`);
      onState(true);
      delay = 2000;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trim());
            else if (line.startsWith('id:')) lastId = line.slice(3).trim();
          }
          if (data.length) {
            let parsed = null;
            try {
              parsed = JSON.parse(data.join('\n'));
            } catch (e) {
              continue; // not ours to understand
            }
            onEvent(type, parsed);
          }
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    onState(false);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 30000);
  }
}
