// Talking to the agent: JSON calls and the snapshot stream, with the bearer token when there is one.
// A token given as ?token=… is kept in localStorage and removed from the address bar.

const TOKEN_KEY = 'hotaisle.token';

function takeTokenFromUrl() {
  const url = new URL(window.location.href);
  const given = url.searchParams.get('token');
  if (!given) return;
  localStorage.setItem(TOKEN_KEY, given);
  url.searchParams.delete('token');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}
takeTokenFromUrl();

function authHeaders() {
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** fetch + JSON + the shared error shape ({error:{code,message}}) turned into an ApiError. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { ...authHeaders() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 204) return null;
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below with the status
  }
  if (!res.ok) {
    const err = json?.error;
    const hint = res.status === 401 || res.status === 403 ? ' (open the page with ?token=<your token>)' : '';
    throw new ApiError(res.status, err?.code ?? 'HTTP', `${err?.message ?? `HTTP ${res.status}`}${hint}`);
  }
  return json;
}

/**
 * Server-sent events read through fetch (EventSource cannot send an Authorization header).
 * Calls onEvent(name, data) per event and onState('live' | 'reconnecting') as the link changes;
 * reconnects with a growing delay. Returns a function that stops it.
 */
export function openStream(path, onEvent, onState) {
  let stopped = false;
  let controller;
  let delay = 1000;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(path, { headers: authHeaders(), signal: controller.signal });
        if (!res.ok || !res.body) throw new ApiError(res.status, 'HTTP', `stream answered ${res.status}`);
        onState('live');
        delay = 1000;
        await readEvents(res.body, onEvent);
        // The agent ended the stream (stopping or restarting): reconnect like after an error.
        if (!stopped) onState('reconnecting', new Error('the agent closed the stream'));
      } catch (err) {
        if (stopped) return;
        onState('reconnecting', err);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onEvent(event, data.join('\n'));
      end = buffer.indexOf('\n\n');
    }
  }
}
