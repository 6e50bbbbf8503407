// harness.mjs - what every browser test shares: a real tesserad on a free
// port with a temporary database, Debian's chromium driven by
// playwright-core, the checks every screen must pass (axe-core, no
// horizontal overflow at 375 px, no console error, no request to another
// origin), screenshots, and a little of the API from Node for set-up.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const ADMIN = { email: 'admin@localhost', password: 'browser-tests-password' };
export const TIMEZONE = 'America/Sao_Paulo'; // UTC-3 all year: offsets are easy to check
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 812 };
export const DAY = 86400000; // ms

const SHOTS = process.env.TSR_SCREENSHOTS || path.join(process.cwd(), 'screenshots');
mkdirSync(SHOTS, { recursive: true });

// ---- the server ----

// Starts tesserad serve on 127.0.0.1:0, after `tesserad scope add` of each
// [name, description] of `scopes`; stop() sends SIGTERM and checks that it
// exits 0.
export async function startServer(args = [], { scopes = [] } = {}) {
  const bin = process.env.TESSERAD;
  assert.ok(bin, 'the environment variable TESSERAD must name the tesserad to test');
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-browser-'));
  const db = path.join(dir, 'tessera.db');
  for (const [name, description] of scopes)
    execFileSync(bin, ['scope', 'add', name, '--description', description, '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--db', db, ...args], {
    env: { ...process.env, TESSERA_ADMIN_PASSWORD: ADMIN.password },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    log = (log + d).slice(-65536);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tesserad did not start within 30 s:\n${log}`)), 30000);
    const look = () => {
      const m = log.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        child.stderr.off('data', look);
        resolve(m[1]);
      }
    };
    child.stderr.on('data', look);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`tesserad exited (${code ?? signal}) before it listened:\n${log}`));
    });
  });
  return {
    url,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), 30000);
      });
      const r = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (!r) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      assert.ok(r, `tesserad did not stop within 30 s of SIGTERM:\n${log.slice(-4000)}`);
      assert.equal(r.code, 0, `tesserad must exit 0 on SIGTERM, not ${r.code ?? r.signal}:\n${log.slice(-4000)}`);
    },
  };
}

// ---- a test file's set-up ----

// What a test file's before() starts: a server (with `opts` as startServer
// takes them), the browser, a page, and an API session of the same user for
// set-up and checks. If a step fails, what has started is stopped again.
export async function setUp(opts = {}) {
  const env = {};
  try {
    env.server = await startServer([], opts);
    env.browser = await launch();
    env.page = await openPage(env.browser, env.server.url);
    env.session = await apiSession(env.server.url);
  } catch (err) {
    await tearDown(env).catch(() => {});
    throw err;
  }
  return env;
}

// For the test file's after(): closes the browser, then stops the server.
export async function tearDown({ browser, server }) {
  await browser?.close();
  await server?.stop();
}

// ---- the API, from Node ----

export async function apiSession(base) {
  const basic = Buffer.from(`${ADMIN.email}:${ADMIN.password}`).toString('base64');
  const res = await fetch(`${base}/v4/tokens`, { method: 'POST', headers: { Authorization: `Basic ${basic}` } });
  assert.equal(res.status, 201, 'log in with Basic');
  return (await res.json()).token;
}

export async function apiCall(base, secret, method, pathname, body) {
  const headers = { Authorization: `Token ${secret}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${base}${pathname}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

export async function apiCreate(base, session, body) {
  const r = await apiCall(base, session, 'POST', '/v4/iam/personal_tokens', body);
  assert.equal(r.status, 201, `create ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
  return r.body.data;
}

export async function apiTokens(base, session) {
  const r = await apiCall(base, session, 'GET', '/v4/iam/personal_tokens?page_size=100');
  assert.equal(r.status, 200);
  return r.body.results;
}

// The status of a verify of `secret`, asking for each of `scopes`.
export async function verifyStatus(base, secret, scopes = []) {
  const q = scopes.length ? `?${scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&')}` : '';
  const res = await fetch(`${base}/v4/auth/verify${q}`, { headers: { Authorization: `Token ${secret}` } });
  return res.status;
}

// RFC 3339 with seconds, `seconds` from now.
export const inSeconds = (seconds) => new Date(Math.ceil(Date.now() / 1000) * 1000 + seconds * 1000).toISOString().replace('.000Z', 'Z');

// The calendar day in TIMEZONE (UTC-3), `days` from today there.
export function dayInZone(days) {
  const d = new Date(Date.now() - 3 * 3600000 + days * DAY);
  return d.toISOString().slice(0, 10);
}

// ---- the browser ----

export function launch() {
  return chromium.launch({
    executablePath: process.env.TSR_CHROMIUM || '/usr/bin/chromium',
    // playwright adds headless itself: a second --headless closes the browser.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

// A page in a fresh context that records console errors, uncaught
// exceptions and any request to another origin than `base`.
export async function openPage(browser, base) {
  const context = await browser.newContext({
    viewport: DESKTOP,
    locale: 'en-US',
    timezoneId: TIMEZONE,
    reducedMotion: 'reduce',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  const watch = { errors: [], allowed: [], foreign: [] };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (watch.allowed.some((re) => re.test(m.text()))) return;
    watch.errors.push(m.text());
  });
  page.on('pageerror', (e) => watch.errors.push(`uncaught exception: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(`${base}/`) && !u.startsWith('data:')) watch.foreign.push(u);
  });
  page.watch = watch;
  return page;
}

// Console errors that a step expects (a 401 for a wrong password, say)
// until the next clean().
export function allowConsole(page, ...patterns) {
  page.watch.allowed.push(...patterns);
}

// Asserts that nothing unexpected was logged or fetched, then forgets what
// was allowed.
export async function clean(page) {
  await page.waitForTimeout(50);
  const { errors, foreign } = page.watch;
  assert.deepEqual(errors, [], 'the page logged console errors');
  assert.deepEqual(foreign, [], 'the page made requests to another origin');
  page.watch.allowed = [];
}

async function axe(page, name) {
  // Evaluated through the DevTools protocol: the pages' CSP allows no inline script.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(' ')).join('\n    ')}`,
  );
  assert.deepEqual(found, [], `${name}: axe-core found violations`);
}

async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 0.5 && e.getClientRects().length)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className} right=${Math.round(e.getBoundingClientRect().right)}`);
  });
}

// The checks of one screen: axe-core at desktop width and at 375 px, no
// horizontal overflow at 375 px, and a screenshot at each width.
export async function screen(page, name) {
  await page.waitForTimeout(60); // one frame for layout
  await axe(page, name);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  const size = page.viewportSize();
  await page.setViewportSize(PHONE);
  try {
    await page.waitForTimeout(60);
    assert.deepEqual(await overflow(page), [], `${name}: the page scrolls sideways at 375 px`);
    await axe(page, `${name} at 375 px`);
    await page.screenshot({ path: path.join(SHOTS, `${name}-375.png`) });
  } finally {
    await page.setViewportSize(size);
  }
}

// The expiry presets both forms offer, with their length in days.
export const PRESETS = [
  ['1 day', 1],
  ['7 days', 7],
  ['15 days', 15],
  ['30 days', 30],
  ['90 days', 90],
  ['1 year', 365],
];

// Whether `secret` is still anywhere in the page: its markup or a field.
export function secretLeft(page, secret) {
  return page.evaluate(
    (s) => document.documentElement.outerHTML.includes(s) || [...document.querySelectorAll('input, textarea')].some((e) => e.value.includes(s)),
    secret,
  );
}

// The rows of the tokens table, as the names they show.
export function rowNames(page) {
  return page.locator('#tokens-body tr .token-name').allTextContents();
}

// The rows of the tokens table once the page has asked for a list whose
// query holds each of `params` (null: without that parameter), after
// act(), and drawn the answer.
export async function rowsAfter(page, params, act) {
  const answered = page.waitForResponse((r) => {
    const u = new URL(r.url());
    return u.pathname === '/v4/iam/personal_tokens' && Object.entries(params).every(([k, v]) => u.searchParams.get(k) === v);
  });
  await act();
  assert.equal((await answered).status(), 200);
  await page.waitForFunction(() => document.getElementById('tokens-table').getAttribute('aria-busy') === 'false');
  return rowNames(page);
}
