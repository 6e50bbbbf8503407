// console.test.mjs - the Console at / in Debian's chromium, step by step as
// the guide tells a user: log in, Account Menu, Personal Tokens, + Personal
// Token, Save, the pop-up with its visibility icon and Copy, the row's three
// points menu with Edit, Regenerate and Delete, the typed confirmations,
// logging out.

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
let session; // an API session of the same user, for set-up and checks
let copied; // the secret read back from the clipboard

before(async () => {
  ({ server, browser, page, session } = await setUp());
});

after(() => tearDown({ browser, server }));

const heading = (name) => page.getByRole('heading', { name, exact: true });
const tokensPage = () => page.getByRole('heading', { name: 'Personal Tokens', level: 1 });

async function openAccountMenu() {
  await page.getByRole('button', { name: 'Account Menu' }).click();
  await page.locator('#account-menu').waitFor();
}

test('log in: a wrong password is refused in the form, the right one opens the console', async () => {
  await page.goto(`${server.url}/`);
  await heading('Log in to Tessera Console').waitFor();
  await screen(page, 'console-01-login');

  allowConsole(page, /status of 401/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  const alert = page.locator('#login-error');
  await alert.waitFor();
  assert.match(await alert.textContent(), /email or password is wrong/);
  assert.equal(await page.getByLabel('Password').inputValue(), '');
  await screen(page, 'console-02-login-wrong-password');

  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await heading('Welcome').waitFor();
  await screen(page, 'console-03-home');
  await clean(page);
});

test('the Account Menu at the top right holds the email, Personal Tokens and Log out', async () => {
  const button = page.getByRole('button', { name: 'Account Menu' });
  const box = await button.boundingBox();
  assert.ok(box.x > 1280 - 100 && box.y < 60, 'the menu button sits at the top-right corner');
  await openAccountMenu();
  assert.equal(await button.getAttribute('aria-expanded'), 'true');
  const menu = page.locator('#account-menu');
  assert.match(await menu.textContent(), /admin@localhost/);
  assert.ok(await menu.getByRole('link', { name: 'Personal Tokens' }).isVisible());
  assert.ok(await menu.getByRole('button', { name: 'Log out' }).isVisible());
  await screen(page, 'console-04-account-menu');
  // Escape closes it and gives focus back to the button.
  await page.keyboard.press('Escape');
  assert.ok(await menu.isHidden());
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Account Menu');
  // By keyboard: Enter opens it.
  await page.keyboard.press('Enter');
  assert.ok(await menu.isVisible());
  await menu.getByRole('link', { name: 'Personal Tokens' }).click();
  await tokensPage().waitFor();
  await page.getByText('No personal tokens yet').waitFor();
  await screen(page, 'console-05-tokens-empty');
  await clean(page);
});

// Creates a token through the form with the expiry `choice` and returns the
// text the pop-up showed about it.
async function createInForm(name, choice, { date, description } = {}) {
  await page.getByRole('button', { name: '+ Personal Token' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Personal Token' });
  await dialog.waitFor();
  await dialog.getByLabel('Name').fill(name);
  if (description) await dialog.getByLabel('Description (optional)').fill(description);
  await dialog.getByLabel('Expires within').selectOption({ label: choice });
  if (date) await dialog.getByLabel('Custom date').fill(date);
  const summary = await dialog.locator('#tf-summary [data-text]').textContent();
  assert.match(summary, /^Expires on \w+day, \w+ \d+, \d{4} at \d+:\d\d:\d\d [AP]M GMT-3/, `the date is shown before saving (${summary})`);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('dialog', { name: 'Personal Token created' }).waitFor();
  return summary;
}

test('+ Personal Token with every expiry choice, a custom date included', async () => {
  const started = Date.now();
  for (const [label] of PRESETS) {
    await createInForm(`Expires ${label}`, label, { description: `Made with the ${label} preset` });
    await page.getByRole('button', { name: 'Done' }).click();
  }

  // A custom date: the date picker takes only future days within the
  // server's limit, and the token lasts to the end of that day, in the
  // user's zone, sent with its offset.
  await page.getByRole('button', { name: '+ Personal Token' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Personal Token' });
  await dialog.getByLabel('Expires within').selectOption({ label: 'Custom date' });
  const date = dialog.getByLabel('Custom date');
  assert.equal(await date.getAttribute('type'), 'date');
  assert.equal(await date.getAttribute('min'), dayInZone(1), 'the first day offered is tomorrow');
  assert.equal(await date.getAttribute('max'), dayInZone(365), 'the last day offered ends within 366 days');
  await screen(page, 'console-06-create-custom-date');
  await dialog.getByLabel('Name').fill('Custom date token');
  await date.fill(dayInZone(400));
  await dialog.getByRole('button', { name: 'Save' }).click();
  const dateError = dialog.locator('#tf-date-error');
  await dateError.waitFor();
  assert.match(await dateError.textContent(), /Choose a date from/);
  assert.equal(await date.getAttribute('aria-invalid'), 'true');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  const custom = dayInZone(100);
  const summary = await createInForm('Custom date token', 'Custom date', { date: custom });
  assert.match(summary, /11:59:59 PM GMT-3/);
  await page.getByRole('button', { name: 'Done' }).click();

  const tokens = await apiTokens(server.url, session);
  for (const [label, days] of PRESETS) {
    const t = tokens.find((x) => x.name === `Expires ${label}`);
    assert.ok(t, `the token of ${label} exists`);
    const want = started + days * DAY;
    const got = Date.parse(t.expires_at);
    assert.ok(Math.abs(got - want) < 120000, `${label}: expires_at ${t.expires_at} is ${days} days from now`);
  }
  const c = tokens.find((x) => x.name === 'Custom date token');
  const next = new Date(`${custom}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  assert.equal(c.expires_at, `${next.toISOString().slice(0, 10)}T02:59:59Z`, '23:59:59 at UTC-3');
  await clean(page);
});

test('the pop-up: visibility icon, Copy, the clipboard, and no secret once it closes', async () => {
  await createInForm('CI deploy', '30 days', { description: 'Deploys from the CI runner' });
  const dialog = page.getByRole('dialog', { name: 'Personal Token created' });
  assert.match(await dialog.textContent(), /will not be shown again/);
  const field = dialog.getByLabel('Personal Token', { exact: true });
  assert.equal(await field.getAttribute('type'), 'password', 'masked at first');
  await screen(page, 'console-07-token-created');
  await dialog.getByRole('button', { name: 'Show token' }).click();
  assert.equal(await field.getAttribute('type'), 'text');
  const shown = await field.inputValue();
  assert.match(shown, /^tsr_[0-9A-Za-z]{36}$/);
  assert.ok(await dialog.getByRole('button', { name: 'Hide token' }).isVisible());
  await dialog.getByRole('button', { name: 'Copy' }).click();
  await dialog.getByRole('button', { name: 'Copied' }).waitFor();
  copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, shown);
  await screen(page, 'console-08-token-revealed-copied');
  assert.equal(await verifyStatus(server.url, copied), 204, 'the copied secret passes /v4/auth/verify');

  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await secretLeft(page, copied), false, 'the secret is gone from the page once the pop-up closes');
  assert.equal(await page.locator('#secret-value').count(), 0);
  await page.locator('#tokens-body tr', { hasText: 'CI deploy' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), '+ Personal Token', 'focus goes back to the button');
  await clean(page);
});

test('field errors: lengths in code points, and the API\'s errors beside the field', async () => {
  await page.getByRole('button', { name: '+ Personal Token' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Personal Token' });
  // 101 emoji are 202 UTF-16 units but 101 characters to the API.
  await dialog.getByLabel('Name').fill('😀'.repeat(101));
  assert.equal(await dialog.locator('#tf-name-count').textContent(), '101/100');
  await dialog.getByRole('button', { name: 'Save' }).click();
  assert.match(await dialog.locator('#tf-name-error').textContent(), /at most 100 characters \(this has 101\)/);
  // An empty name.
  await dialog.getByLabel('Name').fill('   ');
  await dialog.getByRole('button', { name: 'Save' }).click();
  assert.equal(await dialog.locator('#tf-name-error').textContent(), 'Enter a name.');
  // A rule that only the server checks: a control character.
  allowConsole(page, /status of 400/);
  await dialog.getByLabel('Name').fill('tab\there');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const apiError = dialog.locator('#tf-name-error');
  await page.waitForFunction(() => /control/.test(document.getElementById('tf-name-error').textContent));
  assert.equal(await dialog.getByLabel('Name').getAttribute('aria-invalid'), 'true');
  assert.match(await apiError.textContent(), /^Name .*control characters/i);
  await screen(page, 'console-09-field-error');
  // 100 emoji fit.
  await dialog.getByLabel('Name').fill('😀'.repeat(100));
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('dialog', { name: 'Personal Token created' }).waitFor();
  await page.getByRole('button', { name: 'Done' }).click();
  await clean(page);
});

test('search, sort and pagination over 45 tokens', async () => {
  const have = (await apiTokens(server.url, session)).length;
  let odd = 0;
  for (let i = have; i < 45; i++) {
    await apiCreate(server.url, session, {
      name: `Bulk ${String(i).padStart(2, '0')}`,
      description: i % 2 ? (odd++, 'odd one') : 'even one',
      expires_at: inSeconds(86400 * (i + 2)),
    });
  }
  await page.reload();
  await tokensPage().waitFor();
  // Real rows, not the loading placeholders (skeleton rows) before them.
  await page.locator('#tokens-body tr:not(.skeleton-row)').first().waitFor();
  await page.locator('#pager-range', { hasText: '1–20 of 45' }).waitFor();
  assert.equal(await page.locator('#tokens-body tr').count(), 20);
  assert.equal(await page.locator('#pager-page').textContent(), 'Page 1 of 3');
  assert.equal(await page.locator('#pager-range').textContent(), '1–20 of 45');
  await screen(page, 'console-10-tokens-list');
  const prev = page.getByRole('button', { name: 'Previous page' });
  const next = page.getByRole('button', { name: 'Next page' });
  assert.ok(await prev.isDisabled());
  await next.click();
  await page.locator('#pager-page', { hasText: 'Page 2 of 3' }).waitFor();
  await next.click();
  await page.locator('#pager-page', { hasText: 'Page 3 of 3' }).waitFor();
  assert.equal(await page.locator('#tokens-body tr').count(), 5);
  assert.ok(await next.isDisabled());
  await screen(page, 'console-11-tokens-page-3');
  await prev.click();
  await page.locator('#pager-page', { hasText: 'Page 2 of 3' }).waitFor();

  // Sort by name, ascending then descending.
  const nameHeader = page.getByRole('columnheader', { name: 'Name' });
  await nameHeader.getByRole('button').click();
  await page.locator('th[aria-sort="ascending"]', { hasText: 'Name' }).waitFor();
  await page.locator('#pager-page', { hasText: 'Page 1 of 3' }).waitFor();
  let names = await rowNames(page);
  const lower = (x) => x.toLowerCase();
  assert.deepEqual(names, [...names].sort((a, b) => (lower(a) < lower(b) ? -1 : lower(a) > lower(b) ? 1 : 0)));
  assert.equal(names[0], 'Bulk 09');
  await nameHeader.getByRole('button').click();
  await page.locator('th[aria-sort="descending"]', { hasText: 'Name' }).waitFor();
  await page.waitForFunction(() => document.querySelector('#tokens-body .token-name').textContent.startsWith('😀'));
  names = await rowNames(page);
  assert.equal(names[1], 'Expires 90 days');
  await screen(page, 'console-12-tokens-sorted');
  // Sort by expiry, soonest first.
  await page.getByRole('columnheader', { name: 'Expires' }).getByRole('button').click();
  await page.waitForFunction(() => document.querySelector('#tokens-body .token-name').textContent === 'Expires 1 day');

  // Search matches the name or the description.
  await page.getByLabel('Search tokens').fill('90 days');
  await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 1 && !document.getElementById('tokens-table').hidden);
  assert.deepEqual(await rowNames(page), ['Expires 90 days']);
  await page.getByLabel('Search tokens').fill('odd one');
  await page.locator('#pager-range', { hasText: 'of ' }).waitFor();
  await page.waitForFunction((n) => document.getElementById('pager-range').textContent.endsWith(` of ${n}`), odd);
  await screen(page, 'console-13-tokens-search');
  await page.getByLabel('Search tokens').fill('no such token anywhere');
  await page.getByText('No matching tokens').waitFor();
  await screen(page, 'console-14-tokens-search-empty');
  await page.getByRole('button', { name: 'Clear search' }).click();
  await page.locator('#pager-range', { hasText: 'of 45' }).waitFor();
  await clean(page);
});

test('the three points menu: Edit changes name, description and expiry', async () => {
  await page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click();
  await page.waitForFunction(() => document.querySelector('#tokens-body .token-name').textContent === 'Bulk 09');
  const row = page.locator('#tokens-body tr', { hasText: 'CI deploy' });
  await page.getByLabel('Search tokens').fill('CI deploy');
  await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 1);
  const more = row.getByRole('button', { name: 'More actions' });
  const box = await more.boundingBox();
  const rowBox = await row.boundingBox();
  assert.ok(box.x > rowBox.x + rowBox.width - 80, 'the three points icon is at the right of the row');
  await more.click();
  const menu = row.getByRole('menu');
  assert.ok(await menu.getByRole('menuitem', { name: 'Edit' }).isVisible());
  assert.ok(await menu.getByRole('menuitem', { name: 'Regenerate' }).isVisible());
  assert.ok(await menu.getByRole('menuitem', { name: 'Delete' }).isVisible());
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Edit', 'focus moves into the menu');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Regenerate');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Delete');
  await screen(page, 'console-15-row-menu');
  await page.keyboard.press('Home');
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Edit Personal Token' });
  await dialog.waitFor();
  assert.equal(await dialog.getByLabel('Name').inputValue(), 'CI deploy');
  assert.match(await dialog.getByLabel('Expires within').inputValue(), /keep/);
  await dialog.getByLabel('Name').fill('CI deploy (prod)');
  await dialog.getByLabel('Description (optional)').fill('Deploys production from CI');
  await dialog.getByLabel('Expires within').selectOption({ label: '90 days' });
  await screen(page, 'console-16-edit');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.locator('.toast', { hasText: 'have been saved' }).waitFor();
  const t = (await apiTokens(server.url, session)).find((x) => x.name === 'CI deploy (prod)');
  assert.equal(t.description, 'Deploys production from CI');
  assert.ok(Math.abs(Date.parse(t.expires_at) - (Date.now() + 90 * DAY)) < 120000);
  assert.equal(await verifyStatus(server.url, copied), 204, 'the secret does not change');
  await page.getByLabel('Search tokens').fill('');
  await clean(page);
});

// Opens the row's Regenerate, checks the typed confirmation, chooses the
// grace period `grace` (its label) and returns the pop-up that shows the
// new secret.
async function regenerateInMenu(name, grace, shot) {
  const row = page.locator('#tokens-body tr', { hasText: name });
  await row.getByRole('button', { name: 'More actions' }).click();
  await row.getByRole('menuitem', { name: 'Regenerate' }).click();
  const dialog = page.getByRole('dialog', { name: 'Regenerate Personal Token' });
  await dialog.waitFor();
  assert.match(await dialog.textContent(), new RegExp(name));
  const button = dialog.getByRole('button', { name: 'Regenerate', exact: true });
  assert.ok(await button.isDisabled(), 'Regenerate is disabled before the word is typed');
  const when = dialog.getByLabel('The old token stops working');
  assert.equal(await when.inputValue(), '0', 'at once, unless a grace period is chosen');
  const confirm = dialog.getByLabel('Type regenerate to confirm');
  await confirm.fill('delete');
  assert.ok(await button.isDisabled(), 'the word to type is regenerate');
  await confirm.fill('regenerate');
  assert.ok(await button.isEnabled());
  await when.selectOption({ label: grace });
  if (shot) await screen(page, shot);
  await button.click();
  await dialog.waitFor({ state: 'hidden' });
  const pop = page.getByRole('dialog', { name: 'Personal Token regenerated' });
  await pop.waitFor();
  return pop;
}

test('Regenerate: type regenerate, the new secret in the pop-up, the old one refused', async () => {
  const made = await apiCreate(server.url, session, { name: 'Rotated here', description: 'Regenerated in the Console', expires_at: inSeconds(20 * 86400) });
  assert.equal(await verifyStatus(server.url, made.key), 204);
  await page.getByLabel('Search tokens').fill('Rotated here');
  await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr:not(.skeleton-row)').length === 1);
  const row = page.locator('#tokens-body tr', { hasText: 'Rotated here' });
  await row.locator('.key-hint', { hasText: made.key_hint }).waitFor();

  // At once: the pop-up of a create, with the new secret masked.
  let pop = await regenerateInMenu('Rotated here', 'At once', 'console-18a-regenerate-confirm');
  assert.match(await pop.textContent(), /will not be shown again/);
  assert.match(await pop.textContent(), /The old token has stopped working\./);
  const field = pop.getByLabel('Personal Token', { exact: true });
  assert.equal(await field.getAttribute('type'), 'password', 'masked at first');
  await pop.getByRole('button', { name: 'Show token' }).click();
  const fresh = await field.inputValue();
  assert.match(fresh, /^tsr_[0-9A-Za-z]{36}$/);
  assert.notEqual(fresh, made.key);
  await screen(page, 'console-18b-regenerated');
  assert.equal(await verifyStatus(server.url, fresh), 204, 'the new secret passes /v4/auth/verify');
  assert.equal(await verifyStatus(server.url, made.key), 401, 'the old secret is refused at once');
  await pop.getByRole('button', { name: 'Done' }).click();
  await pop.waitFor({ state: 'hidden' });
  assert.equal(await secretLeft(page, fresh), false, 'the secret is gone from the page once the pop-up closes');
  // The list shows the new key hint; focus is back on the row's menu button.
  await row.locator('.key-hint', { hasText: fresh.slice(0, 8) }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'More actions');
  const after = (await apiCall(server.url, session, 'GET', `/v4/iam/personal_tokens/${made.id}`)).body.data;
  assert.equal(after.key_hint, fresh.slice(0, 8));
  assert.equal(after.name, 'Rotated here');
  assert.equal(after.expires_at, made.expires_at, 'the expiry stays');

  // With an hour's grace: both work, and the copy button gives the new one.
  pop = await regenerateInMenu('Rotated here', 'In 1 hour');
  assert.match(await pop.textContent(), /The old token keeps working for 1 hour\./);
  await pop.getByRole('button', { name: 'Copy' }).click();
  await pop.getByRole('button', { name: 'Copied' }).waitFor();
  const third = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(third, /^tsr_[0-9A-Za-z]{36}$/);
  assert.notEqual(third, fresh);
  assert.equal(await verifyStatus(server.url, third), 204);
  assert.equal(await verifyStatus(server.url, fresh), 204, 'the old secret works during the grace period');
  await pop.getByRole('button', { name: 'Done' }).click();
  await row.locator('.key-hint', { hasText: third.slice(0, 8) }).waitFor();

  // A token deleted meanwhile: the pop-up says so, and nothing is shown.
  allowConsole(page, /status of 404/);
  await row.getByRole('button', { name: 'More actions' }).click();
  await row.getByRole('menuitem', { name: 'Regenerate' }).click();
  const dialog = page.getByRole('dialog', { name: 'Regenerate Personal Token' });
  assert.equal((await apiCall(server.url, session, 'DELETE', `/v4/iam/personal_tokens/${made.id}`)).status, 204);
  await dialog.getByLabel('Type regenerate to confirm').fill('regenerate');
  await dialog.getByRole('button', { name: 'Regenerate', exact: true }).click();
  await dialog.locator('[data-form-error]', { hasText: 'no longer exists' }).waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await verifyStatus(server.url, third), 401);
  await page.getByLabel('Search tokens').fill('');
  await clean(page);
});

test('an expired token shows the Expired badge and can only be deleted', async () => {
  await apiCreate(server.url, session, { name: 'Short lived', expires_at: inSeconds(2) });
  await page.waitForTimeout(3200);
  await page.getByRole('columnheader', { name: 'Created' }).getByRole('button').click();
  await page.getByRole('columnheader', { name: 'Created' }).getByRole('button').click();
  await page.locator('th[aria-sort="descending"]', { hasText: 'Created' }).waitFor();
  const row = page.locator('#tokens-body tr', { hasText: 'Short lived' });
  await row.waitFor();
  await row.locator('.badge', { hasText: 'Expired' }).waitFor();
  const title = await row.locator('td[data-label="Expires"] time').getAttribute('title');
  assert.match(title, /seconds? ago|now/, 'the relative time is there on hover');
  assert.equal(await row.locator('td[data-label="Last used"]').textContent(), 'Never');
  await row.getByRole('button', { name: 'More actions' }).click();
  assert.equal(await row.getByRole('menuitem', { name: 'Edit' }).getAttribute('aria-disabled'), 'true');
  assert.equal(await row.getByRole('menuitem', { name: 'Regenerate' }).getAttribute('aria-disabled'), 'true');
  await page.keyboard.press('Escape');
  await screen(page, 'console-17-expired-badge');
  await clean(page);
});

test('Expires soon: the badge within 7 days, and the status filter asks the server', async () => {
  const gone = await apiCreate(server.url, session, { name: 'Filter gone', expires_at: inSeconds(2) });
  await apiCreate(server.url, session, { name: 'Filter soon', description: 'Two days left', expires_at: inSeconds(2 * 86400) });
  await apiCreate(server.url, session, { name: 'Filter later', expires_at: inSeconds(30 * 86400) });
  const status = page.getByLabel('Status', { exact: true });
  assert.equal(await status.inputValue(), '', 'every token at first');

  let names = await rowsAfter(page, { search: 'Filter', ordering: 'name' }, async () => {
    await page.getByLabel('Search tokens').fill('Filter');
    await page.waitForTimeout(300);
    await page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click();
  });
  assert.ok(names.includes('Filter soon') && names.includes('Filter later'), names.join());
  const soon = page.locator('#tokens-body tr', { hasText: 'Filter soon' });
  const later = page.locator('#tokens-body tr', { hasText: 'Filter later' });
  const badge = soon.locator('td[data-label="Expires"] .badge');
  assert.equal(await badge.textContent(), 'Expires soon', 'in words, not only in colour');
  assert.equal(await badge.getAttribute('title'), 'Expires within 7 days');
  assert.equal(await later.locator('td[data-label="Expires"] .badge').count(), 0, '30 days away is not soon');
  await screen(page, 'console-19a-expires-soon');

  // Expiring: only the first. The one made to expire in 2 s is expiring
  // until then, so wait for it to have expired.
  while (Date.now() <= Date.parse(gone.expires_at) + 500) await page.waitForTimeout(100);
  names = await rowsAfter(page, { status: 'expiring', search: 'Filter', ordering: 'name' }, () => status.selectOption({ label: 'Expiring' }));
  assert.deepEqual(names, ['Filter soon']);
  await screen(page, 'console-19b-filter-expiring');
  // Ordering changes under the filter.
  names = await rowsAfter(page, { status: 'expiring', ordering: '-name' }, () => page.getByRole('columnheader', { name: 'Name' }).getByRole('button').click());
  assert.deepEqual(names, ['Filter soon']);

  // Active, over every page: the pager counts what the server counts.
  const active = (await apiCall(server.url, session, 'GET', '/v4/iam/personal_tokens?status=active&page_size=1')).body.count;
  assert.ok(active > 20, `${active} active tokens make more than one page`);
  await rowsAfter(page, { status: 'active', page: '1', search: null }, async () => {
    await status.selectOption({ label: 'Active' });
    await page.getByLabel('Search tokens').fill('');
  });
  await page.locator('#pager-range', { hasText: `1–20 of ${active}` }).waitFor();
  names = await rowsAfter(page, { status: 'active', page: '2' }, () => page.getByRole('button', { name: 'Next page' }).click());
  assert.equal(names.length, Math.min(20, active - 20));
  assert.ok(!names.includes('Filter gone'));

  // Expired: the one that has.
  names = await rowsAfter(page, { status: 'expired', search: 'Filter' }, async () => {
    await page.getByLabel('Search tokens').fill('Filter');
    await page.waitForTimeout(300);
    await status.selectOption({ label: 'Expired' });
  });
  assert.deepEqual(names, ['Filter gone']);
  await page.locator('#tokens-body tr', { hasText: 'Filter gone' }).locator('.badge', { hasText: 'Expired' }).waitFor();

  // Nothing of that status: the empty state says so and offers every token.
  await rowsAfter(page, { status: 'expired', search: 'Filter later' }, () => page.getByLabel('Search tokens').fill('Filter later'));
  await page.getByText('No expired token has “Filter later” in its name or description.').waitFor();
  await screen(page, 'console-19c-filter-empty');
  names = await rowsAfter(page, { search: 'Filter later', status: null }, () => page.getByRole('button', { name: 'Show all tokens' }).click());
  assert.deepEqual(names, ['Filter later']);
  assert.equal(await status.inputValue(), '');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'status-filter', 'focus goes to the filter');

  // The details say it too.
  await page.getByLabel('Search tokens').fill('Filter soon');
  await page.waitForFunction(() => [...document.querySelectorAll('#tokens-body .token-name')].map((e) => e.textContent).join() === 'Filter soon');
  await page.locator('#tokens-body .token-name', { hasText: 'Filter soon' }).click();
  const details = page.getByRole('dialog', { name: 'Personal Token details' });
  await details.waitFor();
  await details.locator('.badge', { hasText: 'Expires soon' }).waitFor();
  await screen(page, 'console-19d-details-expires-soon');
  await details.getByRole('button', { name: 'Close' }).click();
  await page.getByLabel('Search tokens').fill('');
  await clean(page);
});

test('Delete asks to type delete, then a message confirms it and the secret stops working', async () => {
  await page.getByLabel('Search tokens').fill('CI deploy');
  await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 1);
  const row = page.locator('#tokens-body tr', { hasText: 'CI deploy (prod)' });
  await row.getByRole('button', { name: 'More actions' }).click();
  await row.getByRole('menuitem', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete Personal Token' });
  await dialog.waitFor();
  const button = dialog.getByRole('button', { name: 'Delete', exact: true });
  assert.ok(await button.isDisabled(), 'Delete is disabled before the word is typed');
  const confirm = dialog.getByLabel('Type delete to confirm');
  await confirm.fill('delet');
  assert.ok(await button.isDisabled());
  await screen(page, 'console-18-delete-confirm');
  await confirm.fill('delete');
  assert.ok(await button.isEnabled());
  await button.click();
  await dialog.waitFor({ state: 'hidden' });
  const message = page.locator('.toast', { hasText: 'The personal token “CI deploy (prod)” has been deleted.' });
  await message.waitFor();
  assert.equal(await row.count(), 0, 'the row is gone');
  await screen(page, 'console-19-deleted-message');
  assert.equal(await verifyStatus(server.url, copied), 401, 'the deleted secret fails /v4/auth/verify');
  await clean(page);
});

test('Log out from the Account Menu ends the session', async () => {
  await openAccountMenu();
  await page.getByRole('button', { name: 'Log out' }).click();
  await heading('Log in to Tessera Console').waitFor();
  assert.match(await page.locator('#login-notice').textContent(), /logged out/);
  await screen(page, 'console-20-logged-out');
  const cookies = await page.context().cookies();
  assert.equal(cookies.find((c) => c.name === 'tessera_session'), undefined, 'the cookie is cleared');
  await page.reload();
  await heading('Log in to Tessera Console').waitFor();
  await clean(page);
});
