// api.js - the consoles' only way to the server: same-origin fetch with the
// session cookie, the CSRF header on every change, and the contract's errors.

const HINT = 'tessera_console';

// The session cookie is HttpOnly, so the pages cannot see it; this second
// cookie, with no secret in it, only tells them that a session may exist, so
// that a first visit shows the login form without a request that must fail.
export function hasSessionHint() {
  return document.cookie.split(/;\s*/).includes(`${HINT}=1`);
}

function setHint(on) {
  document.cookie = on
    ? `${HINT}=1; Path=/; SameSite=Strict`
    : `${HINT}=; Path=/; SameSite=Strict; Max-Age=0`;
}

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const first = body && Array.isArray(body.errors) ? body.errors[0] : null;
    super(first?.detail || fallback || `The server answered ${status}.`);
    this.status = status;
    this.code = first?.code || (status === 0 ? 'network' : 'error');
    // Field name -> sentence, for the errors that point at a body field.
    this.fields = {};
    for (const e of body?.errors || []) {
      const pointer = e.source?.pointer;
      if (typeof pointer === 'string' && pointer.startsWith('/'))
        this.fields[pointer.slice(1)] = e.detail;
    }
    this.retryAfter = null;
  }
}

let onSessionLost = () => {};

// Called whenever the server says the session is gone (401 on a call that
// needs one), so that the page can show the login form again.
export function whenSessionLost(fn) {
  onSessionLost = fn;
}

export async function request(method, path, body, { auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-Tessera-CSRF'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, null, 'The server cannot be reached. Check your connection and try again.');
  }
  let data = null;
  if (res.status !== 204 && res.status !== 304) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (res.ok) return data;
  const err = new ApiError(res.status, data);
  if (res.status === 429) {
    err.retryAfter = Number(res.headers.get('Retry-After')) || null;
    const minutes = err.retryAfter ? Math.ceil(err.retryAfter / 60) : 0;
    err.message = minutes
      ? `Too many failed logins from this address. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`
      : 'Too many failed logins from this address. Try again later.';
  } else if (res.status >= 500) {
    err.message = 'The server could not do this just now. Try again in a moment.';
  }
  if (res.status === 401 && auth) {
    setHint(false);
    onSessionLost();
  }
  throw err;
}

export async function login(email, password) {
  await request('POST', '/v4/console/session', { email, password }, { auth: false });
  setHint(true);
}

export async function logout() {
  try {
    await request('DELETE', '/v4/console/session', undefined, { auth: false });
  } finally {
    setHint(false);
  }
}

export const me = () => request('GET', '/v4/iam/users/me');
export const config = () => request('GET', '/v4/console/config');

export function listTokens({ page, pageSize, search, ordering, filter }) {
  const q = new URLSearchParams({ page: String(page), page_size: String(pageSize), ordering });
  if (search) q.set('search', search);
  if (filter) q.set('status', filter);
  return request('GET', `/v4/iam/personal_tokens?${q}`);
}

export const createToken = (fields) => request('POST', '/v4/iam/personal_tokens', fields);
export const updateToken = (id, fields) =>
  request('PATCH', `/v4/iam/personal_tokens/${encodeURIComponent(id)}`, fields);
export const deleteToken = (id) =>
  request('DELETE', `/v4/iam/personal_tokens/${encodeURIComponent(id)}`);
// A new secret for the token; the old one works `gracePeriod` seconds more.
export const rotateToken = (id, gracePeriod = 0) =>
  request(
    'POST',
    `/v4/iam/personal_tokens/${encodeURIComponent(id)}/rotate`,
    gracePeriod > 0 ? { grace_period: gracePeriod } : undefined,
  );

// Every scope a token can be given, all pages of them: Tessera's own first,
// then the operator's by name.
export async function listScopes() {
  const all = [];
  for (let page = 1; ; page++) {
    const r = await request('GET', `/v4/iam/scopes?page=${page}&page_size=100`);
    all.push(...r.results);
    if (page >= r.total_pages || r.results.length === 0) return all;
  }
}
