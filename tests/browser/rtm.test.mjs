// rtm.test.mjs - the Real-Time Manager at /rtm/ in Debian's chromium, with
// the guide's older labels: Add Personal Token, Personal Token name, Expires
// in, Personal Token description (optional), Create Token, the visibility
// icon and the copy token icon, the trash can icon on hover and on focus,
// and the Regenerate icon beside it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  ADMIN,
  DAY,
  PRESETS,
  allowConsole,
  apiCall,
  apiCreate,
  apiTokens,
  clean,
  dayInZone,
  inSeconds,
  rowNames,
  rowsAfter,
  screen,
  secretLeft,
  setUp,
  tearDown,
  verifyStatus,
} from './harness.mjs';

let server;
let browser;
let page;
let session;
let copied;

before(async () => {
  ({ server, browser, page, session } = await setUp());
});

after(() => tearDown({ browser, server }));

const heading = (name) => page.getByRole('heading', { name, exact: true });
const tokensPage = () => page.getByRole('heading', { name: 'Personal Tokens', level: 1 });

test('log in to RTM: a wrong password is refused, the right one opens it', async () => {
  await page.goto(`${server.url}/rtm/`);
  await heading('Log in to Real-Time Manager').waitFor();
  await screen(page, 'rtm-01-login');
  allowConsole(page, /status of 401/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#login-error', { hasText: 'Wrong email or password' }).waitFor();
  await screen(page, 'rtm-02-login-wrong-password');
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await heading('Real-Time Manager').waitFor();
  await screen(page, 'rtm-03-home');
  await clean(page);
});

test('Account Menu (three horizontal lines, top right) → Personal Tokens', async () => {
  const button = page.getByRole('button', { name: 'Account Menu' });
  const box = await button.boundingBox();
  assert.ok(box.x > 1280 - 100 && box.y < 60, 'top-right corner');
  await button.click();
  const menu = page.locator('#account-menu');
  await menu.waitFor();
  assert.match(await menu.textContent(), /admin@localhost/);
  await screen(page, 'rtm-04-account-menu');
  await menu.getByRole('link', { name: 'Personal Tokens' }).click();
  await tokensPage().waitFor();
  await page.getByText('You have no personal tokens').waitFor();
  await screen(page, 'rtm-05-tokens-empty');
  await clean(page);
});

async function addToken(name, choice, { date, description } = {}) {
  await page.getByRole('button', { name: 'Add Personal Token' }).click();
  await heading('Add Personal Token').waitFor();
  await page.getByLabel('Personal Token name').fill(name);
  await page.getByLabel('Expires in').selectOption({ label: choice });
  if (date) await page.getByLabel('Custom date').fill(date);
  if (description) await page.getByLabel('Personal Token description (optional)').fill(description);
  const summary = await page.locator('#tf-summary [data-text]').textContent();
  assert.match(summary, /^Expires on .* GMT-3/, `the date is shown before saving (${summary})`);
  await page.getByRole('button', { name: 'Create Token' }).click();
  await page.getByRole('dialog', { name: 'Your Personal Token' }).waitFor();
}

test('Add Personal Token with every expiry choice, a custom date included', async () => {
  const started = Date.now();
  for (const [label] of PRESETS) {
    await addToken(`RTM ${label}`, label);
    await page.getByRole('button', { name: 'Close' }).click();
    await tokensPage().waitFor();
  }
  await page.getByRole('button', { name: 'Add Personal Token' }).click();
  await page.getByLabel('Expires in').selectOption({ label: 'Custom date' });
  const date = page.getByLabel('Custom date');
  assert.equal(await date.getAttribute('min'), dayInZone(1));
  assert.equal(await date.getAttribute('max'), dayInZone(365));
  await page.getByLabel('Personal Token name').fill('RTM custom');
  await date.fill(dayInZone(30));
  await page.getByLabel('Personal Token description (optional)').fill('Ends at midnight, São Paulo time');
  await screen(page, 'rtm-06-add-form');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await tokensPage().waitFor();
  await addToken('RTM custom', 'Custom date', { date: dayInZone(30) });
  await page.getByRole('button', { name: 'Close' }).click();

  const tokens = await apiTokens(server.url, session);
  for (const [label, days] of PRESETS) {
    const t = tokens.find((x) => x.name === `RTM ${label}`);
    assert.ok(Math.abs(Date.parse(t.expires_at) - (started + days * DAY)) < 120000, `${label}: ${t.expires_at}`);
  }
  const next = new Date(`${dayInZone(30)}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  assert.equal(tokens.find((x) => x.name === 'RTM custom').expires_at, `${next.toISOString().slice(0, 10)}T02:59:59Z`);
  await clean(page);
});

test('the new token: visibility icon, copy token icon, clipboard, gone after closing', async () => {
  await addToken('Build server', '90 days', { description: 'Nightly builds' });
  const dialog = page.getByRole('dialog', { name: 'Your Personal Token' });
  const field = dialog.getByLabel('Personal Token', { exact: true });
  assert.equal(await field.getAttribute('type'), 'password');
  await dialog.getByRole('button', { name: 'Show token' }).click();
  assert.equal(await field.getAttribute('type'), 'text');
  assert.ok(await dialog.getByRole('button', { name: 'Hide token' }).isVisible());
  const shown = await field.inputValue();
  await dialog.getByRole('button', { name: 'Copy token' }).click();
  await dialog.getByText('Copied', { exact: true }).waitFor();
  copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, shown);
  assert.match(copied, /^tsr_[0-9A-Za-z]{36}$/);
  await screen(page, 'rtm-07-token-shown-copied');
  assert.equal(await verifyStatus(server.url, copied), 204);
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await secretLeft(page, copied), false, 'the secret is gone from the page');
  await clean(page);
});

test('search, sort and pagination over 45 tokens', async () => {
  const have = (await apiTokens(server.url, session)).length;
  for (let i = have; i < 45; i++)
    await apiCreate(server.url, session, { name: `Service ${String(i).padStart(2, '0')}`, expires_at: inSeconds(DAY / 1000 * (i + 3)) });
  await page.reload();
  await tokensPage().waitFor();
  // Real rows, not the loading placeholders (skeleton rows) before them.
  await page.locator('#tokens-body tr:not(.skeleton-row)').first().waitFor();
  await page.locator('#pager-range', { hasText: '1–20 of 45' }).waitFor();
  assert.equal(await page.locator('#tokens-body tr').count(), 20);
  assert.equal(await page.locator('#pager-range').textContent(), 'Showing 1–20 of 45');
  await screen(page, 'rtm-08-tokens-list');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#pager-page', { hasText: 'Page 2 of 3' }).waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#pager-page', { hasText: 'Page 3 of 3' }).waitFor();
  assert.equal(await page.locator('#tokens-body tr').count(), 5);
  assert.ok(await page.getByRole('button', { name: 'Next' }).isDisabled());
  await screen(page, 'rtm-09-tokens-page-3');

  await page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click();
  await page.locator('th[aria-sort="ascending"]', { hasText: 'Name' }).waitFor();
  await page.waitForFunction(() => document.querySelector('#tokens-body .token-name')?.textContent === 'Build server');
  await page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click();
  await page.waitForFunction(() => document.querySelector('#tokens-body .token-name')?.textContent === 'Service 44');
  const names = await rowNames(page);
  assert.deepEqual(names, [...names].sort().reverse());

  await page.getByLabel('Search').fill('build');
  await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 1);
  assert.deepEqual(await rowNames(page), ['Build server']);
  await screen(page, 'rtm-10-tokens-search');
  await page.getByLabel('Search').fill('');
  await page.locator('#pager-range', { hasText: 'of 45' }).waitFor();
  await clean(page);
});

test('the trash can icon shows on hover and on keyboard focus', async () => {
  await page.getByLabel('Search').fill('Build server');
  await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 1);
  const row = page.locator('#tokens-body tr').first();
  const icons = row.locator('.row-actions');
  const opacity = () => icons.evaluate((e) => getComputedStyle(e).opacity);
  await page.mouse.move(5, 5);
  assert.equal(await opacity(), '0', 'hidden until the pointer comes');
  await row.hover();
  assert.equal(await opacity(), '1', 'shown on hover');
  await screen(page, 'rtm-11-trash-on-hover');
  await page.mouse.move(5, 5);
  assert.equal(await opacity(), '0');
  // By keyboard: Tab from the search box until the row's trash can.
  await page.getByLabel('Search').focus();
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement.getAttribute('aria-label'))) === 'Delete') break;
  }
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Delete');
  assert.equal(await opacity(), '1', 'shown on keyboard focus');
  await clean(page);
});

test('edit a token from its row', async () => {
  const row = page.locator('#tokens-body tr', { hasText: 'Build server' });
  await row.hover();
  await row.getByRole('button', { name: 'Edit' }).click();
  await heading('Edit Personal Token').waitFor();
  assert.equal(await page.getByLabel('Personal Token name').inputValue(), 'Build server');
  await page.getByLabel('Personal Token name').fill('Build server (nightly)');
  await page.getByLabel('Expires in').selectOption({ label: '7 days' });
  await screen(page, 'rtm-12-edit-form');
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await tokensPage().waitFor();
  await page.locator('#tokens-notice', { hasText: 'was updated' }).waitFor();
  const t = (await apiTokens(server.url, session)).find((x) => x.name === 'Build server (nightly)');
  assert.ok(Math.abs(Date.parse(t.expires_at) - (Date.now() + 7 * DAY)) < 120000);
  await clean(page);
});

test('an expired token shows the Expired badge', async () => {
  await apiCreate(server.url, session, { name: 'About to expire', expires_at: inSeconds(2) });
  await page.waitForTimeout(3200);
  await page.getByLabel('Search').fill('About to expire');
  const row = page.locator('#tokens-body tr', { hasText: 'About to expire' });
  await row.locator('.badge', { hasText: 'Expired' }).waitFor();
  assert.equal(await row.getByRole('button', { name: 'Edit' }).getAttribute('aria-disabled'), 'true');
  assert.equal(await row.getByRole('button', { name: 'Regenerate' }).getAttribute('aria-disabled'), 'true');
  await row.hover();
  await screen(page, 'rtm-13-expired-badge');
  await clean(page);
});

// Hovers the row of `name`, opens its Regenerate, checks the typed
// confirmation, chooses the grace period `grace` (its label) and returns
// the pop-up that shows the new secret.
async function regenerateInRow(name, grace, shot) {
  const row = page.locator('#tokens-body tr', { hasText: name });
  await row.hover();
  await row.getByRole('button', { name: 'Regenerate' }).click();
  const dialog = page.getByRole('dialog', { name: 'Regenerate Personal Token' });
  await dialog.waitFor();
  assert.match(await dialog.textContent(), new RegExp(name));
  const button = dialog.getByRole('button', { name: 'Regenerate', exact: true });
  assert.ok(await button.isDisabled());
  const when = dialog.getByLabel('The old token stops working');
  assert.equal(await when.inputValue(), '0', 'at once, unless a grace period is chosen');
  await dialog.getByLabel('Type regenerate to confirm').fill('REGENERATE');
  assert.ok(await button.isDisabled(), 'the word must be typed as shown');
  await dialog.getByLabel('Type regenerate to confirm').fill('regenerate');
  await when.selectOption({ label: grace });
  if (shot) await screen(page, shot);
  await button.click();
  await dialog.waitFor({ state: 'hidden' });
  const pop = page.getByRole('dialog', { name: 'Your Personal Token' });
  await pop.waitFor();
  return pop;
}

test('Regenerate icon → type regenerate → the new token; the old one is refused', async () => {
  const made = await apiCreate(server.url, session, { name: 'Rotated in RTM', expires_at: inSeconds(20 * 86400) });
  assert.equal(await verifyStatus(server.url, made.key), 204);
  await page.getByLabel('Search').fill('Rotated in RTM');
  const row = page.locator('#tokens-body tr', { hasText: 'Rotated in RTM' });
  await row.locator('.key-hint', { hasText: made.key_hint }).waitFor();

  let pop = await regenerateInRow('Rotated in RTM', 'At once', 'rtm-13a-regenerate-confirm');
  assert.match(await pop.textContent(), /will not be shown again/);
  assert.match(await pop.textContent(), /The old token has stopped working\./);
  await pop.getByRole('button', { name: 'Copy token' }).click();
  await pop.getByText('Copied', { exact: true }).waitFor();
  const fresh = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(fresh, /^tsr_[0-9A-Za-z]{36}$/);
  assert.notEqual(fresh, made.key);
  await pop.getByRole('button', { name: 'Show token' }).click();
  assert.equal(await pop.getByLabel('Personal Token', { exact: true }).inputValue(), fresh);
  await screen(page, 'rtm-13b-regenerated');
  assert.equal(await verifyStatus(server.url, fresh), 204, 'the new secret passes /v4/auth/verify');
  assert.equal(await verifyStatus(server.url, made.key), 401, 'the old secret is refused at once');
  await pop.getByRole('button', { name: 'Close' }).click();
  await pop.waitFor({ state: 'hidden' });
  assert.equal(await secretLeft(page, fresh), false, 'the secret is gone from the page');
  await page.locator('#tokens-notice', { hasText: 'The personal token “Rotated in RTM” was regenerated.' }).waitFor();
  await row.locator('.key-hint', { hasText: fresh.slice(0, 8) }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Regenerate', 'focus goes back to the icon');
  const after = (await apiCall(server.url, session, 'GET', `/v4/iam/personal_tokens/${made.id}`)).body.data;
  assert.equal(after.key_hint, fresh.slice(0, 8));
  assert.equal(after.expires_at, made.expires_at, 'the expiry stays');

  // With 24 hours' grace, both work.
  pop = await regenerateInRow('Rotated in RTM', 'In 24 hours');
  assert.match(await pop.textContent(), /The old token keeps working for 24 hours\./);
  await pop.getByRole('button', { name: 'Show token' }).click();
  const third = await pop.getByLabel('Personal Token', { exact: true }).inputValue();
  assert.notEqual(third, fresh);
  assert.equal(await verifyStatus(server.url, third), 204);
  assert.equal(await verifyStatus(server.url, fresh), 204, 'the old secret works during the grace period');
  await pop.getByRole('button', { name: 'Close' }).click();
  await row.locator('.key-hint', { hasText: third.slice(0, 8) }).waitFor();
  assert.equal((await apiCall(server.url, session, 'DELETE', `/v4/iam/personal_tokens/${made.id}`)).status, 204);
  await page.getByLabel('Search').fill('');
  await clean(page);
});

test('Expires soon: the badge within 7 days, and the status filter asks the server', async () => {
  const gone = await apiCreate(server.url, session, { name: 'Filter gone', expires_at: inSeconds(2) });
  await apiCreate(server.url, session, { name: 'Filter soon', expires_at: inSeconds(2 * 86400) });
  await apiCreate(server.url, session, { name: 'Filter later', expires_at: inSeconds(30 * 86400) });
  const status = page.getByLabel('Status', { exact: true });
  assert.equal(await status.inputValue(), '', 'every token at first');

  let names = await rowsAfter(page, { search: 'Filter' }, () => page.getByLabel('Search').fill('Filter'));
  assert.ok(names.includes('Filter soon') && names.includes('Filter later'), names.join());
  const soon = page.locator('#tokens-body tr', { hasText: 'Filter soon' });
  const badge = soon.locator('td[data-label="Expires"] .badge');
  assert.equal(await badge.textContent(), 'Expires soon', 'in words, not only in colour');
  assert.equal(await page.locator('#tokens-body tr', { hasText: 'Filter later' }).locator('td[data-label="Expires"] .badge').count(), 0);
  await screen(page, 'rtm-15a-expires-soon');

  // Expiring: only the first. The one made to expire in 2 s is expiring
  // until then, so wait for it to have expired.
  while (Date.now() <= Date.parse(gone.expires_at) + 500) await page.waitForTimeout(100);
  names = await rowsAfter(page, { status: 'expiring', search: 'Filter' }, () => status.selectOption({ label: 'Expiring' }));
  assert.deepEqual(names, ['Filter soon']);
  await screen(page, 'rtm-15b-filter-expiring');
  names = await rowsAfter(page, { status: 'expiring' }, () => page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click());
  assert.deepEqual(names, ['Filter soon']);

  const active = (await apiCall(server.url, session, 'GET', '/v4/iam/personal_tokens?status=active&page_size=1')).body.count;
  assert.ok(active > 20, `${active} active tokens make more than one page`);
  await rowsAfter(page, { status: 'active', page: '1', search: null }, async () => {
    await status.selectOption({ label: 'Active' });
    await page.getByLabel('Search').fill('');
  });
  await page.locator('#pager-range', { hasText: `Showing 1–20 of ${active}` }).waitFor();
  names = await rowsAfter(page, { status: 'active', page: '2' }, () => page.getByRole('button', { name: 'Next' }).click());
  assert.equal(names.length, Math.min(20, active - 20));

  names = await rowsAfter(page, { status: 'expired', search: 'Filter' }, async () => {
    await page.getByLabel('Search').fill('Filter');
    await page.waitForTimeout(300);
    await status.selectOption({ label: 'Expired' });
  });
  assert.deepEqual(names, ['Filter gone']);
  await page.locator('#tokens-body tr', { hasText: 'Filter gone' }).locator('.badge', { hasText: 'Expired' }).waitFor();

  await rowsAfter(page, { status: 'expired', search: 'Filter soon' }, () => page.getByLabel('Search').fill('Filter soon'));
  await page.getByText('No expired token has “Filter soon” in its name or description.').waitFor();
  await screen(page, 'rtm-15c-filter-empty');
  names = await rowsAfter(page, { search: 'Filter soon', status: null }, () => page.getByRole('button', { name: 'Show all tokens' }).click());
  assert.deepEqual(names, ['Filter soon']);
  assert.equal(await status.inputValue(), '');

  // The details page says it too.
  await page.locator('#tokens-body .token-name', { hasText: 'Filter soon' }).click();
  await heading('Personal Token details').waitFor();
  await page.locator('#details-body .badge', { hasText: 'Expires soon' }).waitFor();
  await screen(page, 'rtm-15d-details-expires-soon');
  await page.locator('#crumbs').getByRole('link', { name: 'Personal Tokens' }).click();
  await tokensPage().waitFor();
  await page.getByLabel('Search').fill('');
  await clean(page);
});

test('trash can → type delete → Delete; a message confirms it; the secret stops working', async () => {
  await page.getByLabel('Search').fill('Build server');
  const row = page.locator('#tokens-body tr', { hasText: 'Build server (nightly)' });
  await row.waitFor();
  await row.hover();
  await row.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete Personal Token' });
  await dialog.waitFor();
  const button = dialog.getByRole('button', { name: 'Delete', exact: true });
  assert.ok(await button.isDisabled());
  await dialog.getByLabel('Type delete to confirm').fill('DELETE');
  assert.ok(await button.isDisabled(), 'the word must be typed as shown');
  await screen(page, 'rtm-14-delete-confirm');
  await dialog.getByLabel('Type delete to confirm').fill('delete');
  await button.click();
  await dialog.waitFor({ state: 'hidden' });
  await page.locator('#tokens-notice', { hasText: 'The personal token “Build server (nightly)” was deleted.' }).waitFor();
  assert.equal(await row.count(), 0);
  await screen(page, 'rtm-15-deleted-message');
  assert.equal(await verifyStatus(server.url, copied), 401);
  await clean(page);
});

test('Log out', async () => {
  await page.getByRole('button', { name: 'Account Menu' }).click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await heading('Log in to Real-Time Manager').waitFor();
  await page.locator('#login-notice', { hasText: 'logged out' }).waitFor();
  await screen(page, 'rtm-16-logged-out');
  await clean(page);
});
