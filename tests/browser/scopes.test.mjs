// scopes.test.mjs - what a token may do and from where, in both consoles:
// Global by default or a choice of scopes grouped as the server lists them
// (every page of them), allowed addresses, the table's compact scopes, the details, an
// edit from Global to a scope, and the server's refusals shown at the field.
// Every token made here is checked against the real verify endpoint.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  ADMIN,
  allowConsole,
  apiCall,
  apiCreate,
  apiTokens,
  clean,
  inSeconds,
  screen,
  setUp,
  tearDown,
  verifyStatus,
} from './harness.mjs';

// The operator's scopes: two prefixes and one name without a prefix.
const OPERATOR = [
  ['orders:read', 'Read orders in the shop API'],
  ['orders:write', 'Create and cancel orders'],
  ['billing:read', 'See invoices'],
  ['deploy', 'Run deployments'],
];
const ALL = 6 + OPERATOR.length; // with Tessera's own, global included
const catalog = (url) => url.pathname === '/v4/iam/scopes';

let server;
let browser;
let page;
let session;

before(async () => {
  ({ server, browser, page, session } = await setUp({ scopes: OPERATOR }));
});

after(() => tearDown({ browser, server }));

const heading = (name) => page.getByRole('heading', { name, exact: true });
const tokensPage = () => page.getByRole('heading', { name: 'Personal Tokens', level: 1 });
const byName = async (name) => (await apiTokens(server.url, session)).find((t) => t.name === name);
const tableFits = () =>
  page.evaluate(() => {
    const t = document.getElementById('tokens-table');
    const box = t.getBoundingClientRect();
    return box.right <= t.parentElement.getBoundingClientRect().right + 0.5 && document.documentElement.scrollWidth <= document.documentElement.clientWidth;
  });
const legends = (root) => root.locator('#tf-scope-list legend').allTextContents();

// Reads the secret out of the pop-up through its visibility icon, as a user
// would, and closes the pop-up with `done`.
async function readSecret(dialogName, done) {
  const dialog = page.getByRole('dialog', { name: dialogName });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Show token' }).click();
  const secret = await dialog.getByLabel('Personal Token', { exact: true }).inputValue();
  assert.match(secret, /^tsr_[0-9A-Za-z]{36}$/);
  await dialog.getByRole('button', { name: done }).click();
  await dialog.waitFor({ state: 'hidden' });
  return secret;
}

// The picker every form shows: Global chosen, the list hidden until
// "Choose scopes", then Tessera's scopes, the operator's by prefix, the
// rest, each with its description.
async function checkPicker(form) {
  const global = form.getByRole('radio', { name: 'Global' });
  assert.ok(await global.isChecked(), 'Global is the default');
  assert.ok(await form.locator('#tf-scope-list').isHidden());
  await form.getByRole('radio', { name: 'Choose scopes' }).check();
  await form.getByRole('checkbox', { name: 'tokens:read', exact: true }).waitFor();
  assert.deepEqual(await legends(form), ['Tessera', 'billing', 'orders', 'Other']);
  const tessera = await form.locator('#tf-scope-list fieldset').first().getByRole('checkbox').evaluateAll((l) => l.map((b) => b.value));
  assert.deepEqual(tessera, ['tokens:read', 'tokens:write', 'activity:read', 'user:read', 'introspect'], 'Global is the other choice, not a scope in the list');
  const orders = form.getByRole('checkbox', { name: 'orders:read', exact: true });
  assert.equal(await orders.getAttribute('aria-describedby').then((id) => page.locator(`#${id}`).textContent()), 'Read orders in the shop API');
  assert.equal(await form.getByRole('checkbox').count(), ALL - 1);
}

test('Console: a scoped create with an address list, the secret once, the table and the details', async () => {
  await page.goto(`${server.url}/`);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await heading('Welcome').waitFor();
  await page.getByRole('button', { name: 'Account Menu' }).click();
  await page.locator('#account-menu').getByRole('link', { name: 'Personal Tokens' }).click();
  await tokensPage().waitFor();

  // Pages of 3, so that the catalog takes four of them: the form must
  // follow total_pages to the end, whatever the page size.
  const pages = [];
  await page.route(catalog, (route) => {
    const u = new URL(route.request().url());
    u.searchParams.set('page_size', '3');
    pages.push(u.searchParams.get('page'));
    return route.continue({ url: u.href });
  });
  await page.getByRole('button', { name: '+ Personal Token' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Personal Token' });
  await dialog.waitFor();
  await checkPicker(dialog);
  assert.deepEqual(pages, ['1', '2', '3', '4'].slice(0, Math.ceil(ALL / 3)));
  await page.unroute(catalog);
  await dialog.getByLabel('Name').fill('Shop reader');
  await dialog.getByLabel('Expires within').selectOption({ label: '30 days' });
  await dialog.getByRole('checkbox', { name: 'orders:read', exact: true }).check();
  await dialog.getByRole('checkbox', { name: 'tokens:read', exact: true }).check();
  // A bare address, a block, an IPv6 block; the page's own 127.0.0.1 among them.
  await dialog.getByLabel('Allowed addresses').fill('127.0.0.0/8\n10.1.2.3\n2001:db8::/48');
  await screen(page, 'scopes-01-console-create');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const secret = await readSecret('Personal Token created', 'Done');

  const t = await byName('Shop reader');
  assert.deepEqual(t.scopes, ['orders:read', 'tokens:read']);
  assert.deepEqual(t.allowed_ips, ['127.0.0.0/8', '10.1.2.3/32', '2001:db8::/48']);
  assert.equal(await verifyStatus(server.url, secret, ['orders:read']), 204);
  assert.equal(await verifyStatus(server.url, secret, ['orders:read', 'tokens:read']), 204);
  assert.equal(await verifyStatus(server.url, secret, ['orders:write']), 403, 'a scope it was not given');

  const row = page.locator('#tokens-body tr', { hasText: 'Shop reader' });
  await row.waitFor();
  assert.deepEqual(await row.locator('.name-scopes .scope').allTextContents(), ['orders:read', 'tokens:read']);

  // The last use and its address reach the list within a few seconds.
  for (let i = 0; i < 60 && !(await byName('Shop reader')).last_used_ip; i++) await page.waitForTimeout(250);
  assert.equal((await byName('Shop reader')).last_used_ip, '127.0.0.1');
  await row.getByRole('button', { name: 'Shop reader' }).click();
  const details = page.getByRole('dialog', { name: 'Personal Token details' });
  await details.waitFor();
  const item = (label) => details.locator('.details > div', { has: page.locator('dt', { hasText: label }) }).locator('dd');
  await item('Last used IP').getByText('127.0.0.1').waitFor();
  assert.deepEqual(await item('Scopes').locator('.scope').allTextContents(), ['orders:read', 'tokens:read']);
  assert.match(await item('Scopes').textContent(), /Read orders in the shop API/);
  assert.deepEqual(await item('Allowed addresses').locator('li').allTextContents(), ['127.0.0.0/8', '10.1.2.3/32', '2001:db8::/48']);
  assert.match(await item('Not before').textContent(), /Not set/);
  await screen(page, 'scopes-02-console-details');
  await details.getByRole('button', { name: 'Close' }).click();
  await details.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Shop reader', 'focus goes back to the name');
  await clean(page);
});

test('Console: the table is compact, the details show not-before, and Edit turns Global into a scope', async () => {
  await apiCreate(server.url, session, { name: 'Wide', expires_at: inSeconds(86400 * 5), scopes: ['tokens:read', 'orders:read', 'billing:read', 'activity:read'] });
  const nb = inSeconds(86400);
  await apiCreate(server.url, session, { name: 'Later', expires_at: inSeconds(86400 * 5), not_before: nb });
  const g = await apiCreate(server.url, session, { name: 'Everything', expires_at: inSeconds(86400 * 5) });
  assert.equal(await verifyStatus(server.url, g.key, ['orders:write']), 204, 'Global holds the operator scopes');
  await page.reload();
  await tokensPage().waitFor();
  const wide = page.locator('#tokens-body tr', { hasText: 'Wide' });
  await wide.waitFor();
  const cell = wide.locator('.name-scopes');
  assert.deepEqual(await cell.locator('.scope').allTextContents(), ['activity:read', 'billing:read']);
  assert.match(await cell.textContent(), /\+2 more$/);
  assert.equal(await cell.locator('.scopes').getAttribute('title'), 'activity:read, billing:read, orders:read, tokens:read');
  const everything = page.locator('#tokens-body tr', { hasText: 'Everything' });
  assert.equal(await everything.locator('.name-scopes').textContent(), 'Scopes: Global');
  // The scopes make the table no wider than its panel at desktop width.
  assert.ok(await tableFits(), 'the table fits its panel at 1280 px');
  await screen(page, 'scopes-03-console-table');

  await page.locator('#tokens-body tr', { hasText: 'Later' }).getByRole('button', { name: 'Later' }).click();
  const details = page.getByRole('dialog', { name: 'Personal Token details' });
  const notBefore = details.locator('.details > div', { has: page.locator('dt', { hasText: 'Not before' }) }).locator('time');
  assert.equal(await notBefore.getAttribute('datetime'), nb);
  assert.match(await details.locator('.details').textContent(), /ScopesGlobal/);
  await details.getByRole('button', { name: 'Close' }).click();

  await everything.getByRole('button', { name: 'More actions' }).click();
  await everything.getByRole('menuitem', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit Personal Token' });
  await dialog.waitFor();
  assert.ok(await dialog.getByRole('radio', { name: 'Global' }).isChecked());
  await dialog.getByRole('radio', { name: 'Choose scopes' }).check();
  await dialog.getByRole('checkbox', { name: 'orders:write', exact: true }).check();
  await screen(page, 'scopes-04-console-edit');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.locator('.toast', { hasText: 'have been saved' }).waitFor();
  assert.deepEqual((await byName('Everything')).scopes, ['orders:write']);
  await everything.locator('.name-scopes .scope', { hasText: 'orders:write' }).waitFor();
  assert.equal(await verifyStatus(server.url, g.key, ['orders:write']), 204);
  assert.equal(await verifyStatus(server.url, g.key, ['orders:read']), 403, 'the next verify sees the change');

  // Opened again, the form shows what the token holds, and Global again
  // gives it everything back.
  await everything.getByRole('button', { name: 'More actions' }).click();
  await everything.getByRole('menuitem', { name: 'Edit' }).click();
  await dialog.waitFor();
  assert.ok(await dialog.getByRole('radio', { name: 'Choose scopes' }).isChecked());
  assert.ok(await dialog.getByRole('checkbox', { name: 'orders:write', exact: true }).isChecked());
  assert.equal(await dialog.getByRole('checkbox', { name: 'orders:read', exact: true }).isChecked(), false);
  await dialog.getByRole('radio', { name: 'Global' }).check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.deepEqual((await byName('Everything')).scopes, ['global']);
  await clean(page);
});

test('Console: the server\'s refusals appear at the address line and at the scope', async () => {
  allowConsole(page, /status of 400/);
  await page.getByRole('button', { name: '+ Personal Token' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Personal Token' });
  await dialog.getByLabel('Name').fill('Bad input');
  const ips = dialog.getByLabel('Allowed addresses');
  // Host bits set on the second line: the server points at /allowed_ips/1.
  await ips.fill('192.0.2.0/24\n10.0.0.1/8');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const error = dialog.locator('#tf-ips-error');
  await error.waitFor();
  assert.match(await error.textContent(), /^Line 2: /);
  assert.equal(await ips.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tf-ips', 'focus goes to the field');
  await screen(page, 'scopes-05-console-address-error');
  await ips.fill('not an address');
  assert.ok(await error.isHidden(), 'typing clears the error');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.waitForFunction(() => /^Line 1: /.test(document.getElementById('tf-ips-error').textContent));
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await apiTokens(server.url, session)).filter((t) => t.name === 'Bad input').length, 0, 'nothing was created');

  // A scope that the list offered but the server no longer knows (removed
  // meanwhile): the server's /scopes/0 lands on that very checkbox.
  await page.route(catalog, async (route) => {
    const res = await route.fetch();
    const body = await res.json();
    if (new URL(route.request().url()).searchParams.get('page') === '1')
      body.results.splice(6, 0, { name: 'orders:gone', description: 'Removed a moment ago', kind: 'operator' });
    await route.fulfill({ response: res, json: body });
  });
  await page.getByRole('button', { name: '+ Personal Token' }).click();
  await dialog.getByLabel('Name').fill('Gone scope');
  await dialog.getByRole('radio', { name: 'Choose scopes' }).check();
  const gone = dialog.getByRole('checkbox', { name: 'orders:gone', exact: true });
  await gone.check();
  await dialog.getByRole('checkbox', { name: 'orders:read', exact: true }).check();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.locator('#tf-scopes-error').waitFor();
  assert.equal(await gone.getAttribute('aria-invalid'), 'true');
  assert.equal(await dialog.getByRole('checkbox', { name: 'orders:read', exact: true }).getAttribute('aria-invalid'), null);
  assert.equal(await page.evaluate(() => document.activeElement.value), 'orders:gone');
  await screen(page, 'scopes-06-console-scope-error');
  // No scope chosen at all is caught before the server is asked.
  await gone.uncheck();
  await dialog.getByRole('checkbox', { name: 'orders:read', exact: true }).uncheck();
  await dialog.getByRole('button', { name: 'Save' }).click();
  assert.equal(await dialog.locator('#tf-scopes-error').textContent(), 'Choose at least one scope, or Global.');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await page.unroute(catalog);
  assert.equal(await byName('Gone scope'), undefined);
  await clean(page);
});

test('RTM: a scoped create, the table, the details page, Global edited to a scope, an address refused', async () => {
  await page.goto(`${server.url}/rtm/`);
  await heading('Real-Time Manager').waitFor();
  await page.getByRole('button', { name: 'Account Menu' }).click();
  await page.locator('#account-menu').getByRole('link', { name: 'Personal Tokens' }).click();
  await tokensPage().waitFor();

  await page.getByRole('button', { name: 'Add Personal Token' }).click();
  await heading('Add Personal Token').waitFor();
  const form = page.locator('#token-form');
  await checkPicker(form);
  await page.getByLabel('Personal Token name').fill('RTM activity');
  await page.getByLabel('Expires in').selectOption({ label: '7 days' });
  await page.getByLabel('Personal Token description (optional)').fill('Reads the activity log');
  await form.getByRole('checkbox', { name: 'activity:read', exact: true }).check();
  await form.getByRole('checkbox', { name: 'deploy', exact: true }).check();
  await page.getByLabel('Allowed addresses').fill('127.0.0.1, 2001:db8:1::/64');
  await screen(page, 'scopes-07-rtm-add');
  await page.getByRole('button', { name: 'Create Token' }).click();
  const secret = await readSecret('Your Personal Token', 'Close');

  const t = await byName('RTM activity');
  assert.deepEqual(t.scopes, ['activity:read', 'deploy']);
  assert.deepEqual(t.allowed_ips, ['127.0.0.1/32', '2001:db8:1::/64']);
  assert.equal(await verifyStatus(server.url, secret, ['deploy']), 204);
  assert.equal(await verifyStatus(server.url, secret, ['tokens:read']), 403);
  const denied = await apiCall(server.url, secret, 'GET', '/v4/iam/personal_tokens');
  assert.equal(denied.status, 403, 'the token cannot list tokens');

  const row = page.locator('#tokens-body tr', { hasText: 'RTM activity' });
  await row.waitFor();
  assert.deepEqual(await row.locator('td[data-label="Scopes"] .scope').allTextContents(), ['activity:read', 'deploy']);
  assert.ok(await tableFits(), 'the table fits its box at 1280 px');
  await screen(page, 'scopes-08-rtm-table');
  await row.getByRole('link', { name: 'RTM activity' }).click();
  await heading('Personal Token details').waitFor();
  const item = (label) => page.locator('#details-body .details > div', { has: page.locator('dt', { hasText: label }) }).locator('dd');
  assert.deepEqual(await item('Scopes').locator('.scope').allTextContents(), ['activity:read', 'deploy']);
  assert.match(await item('Scopes').textContent(), /Run deployments/);
  assert.deepEqual(await item('Allowed addresses').locator('li').allTextContents(), ['127.0.0.1/32', '2001:db8:1::/64']);
  assert.match(await item('Not before').textContent(), /Not set/);
  assert.ok(['Never used', '127.0.0.1'].includes(await item('Last used IP').textContent()));
  await screen(page, 'scopes-09-rtm-details');
  // Edit from the details: the form holds the token's choice.
  await page.getByRole('link', { name: 'Edit' }).click();
  await heading('Edit Personal Token').waitFor();
  assert.ok(await form.getByRole('checkbox', { name: 'deploy', exact: true }).isChecked());
  assert.equal(await page.getByLabel('Allowed addresses').inputValue(), '127.0.0.1/32\n2001:db8:1::/64');
  // An address the server refuses, shown at its line; nothing changes.
  allowConsole(page, /status of 400/);
  await page.getByLabel('Allowed addresses').fill('127.0.0.1/32\n\n300.1.2.3');
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await page.locator('#tf-ips-error', { hasText: /^Line 3: / }).waitFor();
  assert.equal(await page.getByLabel('Allowed addresses').getAttribute('aria-invalid'), 'true');
  await screen(page, 'scopes-10-rtm-address-error');
  assert.deepEqual((await byName('RTM activity')).allowed_ips, ['127.0.0.1/32', '2001:db8:1::/64']);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await tokensPage().waitFor();

  // A Global token, edited to one scope from its row.
  const g = await apiCreate(server.url, session, { name: 'RTM global', expires_at: inSeconds(86400 * 3) });
  await page.getByLabel('Search').fill('RTM global');
  const grow = page.locator('#tokens-body tr', { hasText: 'RTM global' });
  await grow.waitFor();
  assert.equal(await grow.locator('td[data-label="Scopes"]').textContent(), 'Global');
  await grow.hover();
  await grow.getByRole('button', { name: 'Edit' }).click();
  await heading('Edit Personal Token').waitFor();
  assert.ok(await form.getByRole('radio', { name: 'Global' }).isChecked());
  await form.getByRole('radio', { name: 'Choose scopes' }).check();
  await form.getByRole('checkbox', { name: 'billing:read', exact: true }).check();
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await tokensPage().waitFor();
  await page.locator('#tokens-notice', { hasText: 'was updated' }).waitFor();
  assert.deepEqual((await byName('RTM global')).scopes, ['billing:read']);
  await grow.locator('td[data-label="Scopes"] .scope', { hasText: 'billing:read' }).waitFor();
  assert.equal(await verifyStatus(server.url, g.key, ['billing:read']), 204);
  assert.equal(await verifyStatus(server.url, g.key, ['orders:read']), 403);
  await clean(page);
});
