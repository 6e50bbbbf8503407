// app.js - the Real-Time Manager, the classic console: the same account and
// tokens as the Console, in the older layout and with its labels.

import * as api from '/shared/api.js';
import { deleteDialog, secretDialog } from '/shared/dialogs.js';
import { sentence, tokenForm } from '/shared/forms.js';
import { rangeText, tokenList } from '/shared/list.js';
import { formatDate, formatDateTime, formatRelative, isPast, setServerTime } from '/shared/time.js';
import { disclosure, h, hydrateIcons, icon } from '/shared/ui.js';

const $ = (id) => document.getElementById(id);
const TITLE = 'Real-Time Manager';

let user = null;
let maxDays = 366;

hydrateIcons();

// ---- views, routes, breadcrumbs ----

const views = ['loading', 'login', 'home', 'tokens', 'form'];

function show(view, title, crumbs = []) {
  for (const v of views) $(`view-${v}`).hidden = v !== view;
  $('account').hidden = !user;
  $('crumbs').hidden = !user;
  document.title = title ? `${title} · ${TITLE}` : TITLE;
  const items = [['Home', '#/'], ...crumbs];
  $('crumbs-list').replaceChildren(
    ...items.map(([text, href], i) =>
      h('li', {}, i === items.length - 1 ? h('span', { 'aria-current': 'page' }, text) : h('a', { href }, text)),
    ),
  );
}

const TOKENS = ['Personal Tokens', '#/personal-tokens'];

async function route({ focus = true } = {}) {
  if (!user) return;
  const hash = location.hash;
  const edit = hash.match(/^#\/personal-tokens\/([0-9a-f-]{36})\/edit$/);
  let target;
  if (hash === '#/personal-tokens/new') {
    openForm(null);
    target = 'form-title';
  } else if (edit) {
    show('loading', 'Edit Personal Token', [TOKENS, ['Edit Personal Token']]);
    try {
      const res = await api.request('GET', `/v4/iam/personal_tokens/${edit[1]}`);
      openForm(res.data);
    } catch (err) {
      if (err.status === 401) return;
      location.hash = '#/personal-tokens';
      return;
    }
    target = 'form-title';
  } else if (hash.startsWith('#/personal-tokens')) {
    form.stop();
    show('tokens', 'Personal Tokens', [TOKENS]);
    list.load();
    target = 'tokens-title';
  } else {
    form.stop();
    show('home', 'Home');
    target = 'home-title';
  }
  if (focus) $(target).focus();
}

window.addEventListener('hashchange', () => route());

async function enter() {
  const [meRes, cfg] = await Promise.all([api.me(), api.config()]);
  setServerTime(cfg.data.now);
  maxDays = cfg.data.max_lifetime_days;
  user = meRes.data;
  $('account-email').textContent = user.email;
  $('home-email').textContent = user.email;
}

function showLogin(notice) {
  user = null;
  list.reset();
  form.stop();
  $('search').value = '';
  hideNotice();
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  $('login-form').reset();
  $('login-error').hidden = true;
  $('login-notice').hidden = !notice;
  $('login-notice').textContent = notice || '';
  show('login', 'Log in');
  $('login-email').focus();
}

api.whenSessionLost(() => {
  if (user) showLogin('Your session has ended. Log in again to go on.');
});

// ---- log in, log out ----

function fieldError(input, message) {
  const el = $(`${input.id}-error`);
  el.textContent = message;
  el.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const email = $('login-email');
  const password = $('login-password');
  const submit = $('login-submit');
  const error = $('login-error');
  error.hidden = true;
  $('login-notice').hidden = true;
  fieldError(email, email.value.trim() ? '' : 'Enter your email.');
  fieldError(password, password.value ? '' : 'Enter your password.');
  if (!email.value.trim() || !password.value) {
    (email.value.trim() ? password : email).focus();
    return;
  }
  submit.disabled = true;
  submit.setAttribute('aria-busy', 'true');
  try {
    await api.login(email.value.trim(), password.value);
    await enter();
    password.value = '';
    route();
  } catch (err) {
    error.textContent =
      err.status === 401 ? 'Wrong email or password. Try again.' : sentence(err.message);
    error.hidden = false;
    password.value = '';
    password.focus();
  } finally {
    submit.disabled = false;
    submit.removeAttribute('aria-busy');
  }
});

disclosure($('account-button'), $('account-menu'));

$('logout').addEventListener('click', async () => {
  try {
    await api.logout();
  } catch {
    /* the session is gone either way */
  }
  showLogin('You have logged out.');
});

// ---- the list ----

const list = tokenList(render);
const tbody = $('tokens-body');
const state = $('tokens-state');

function timeCell(iso) {
  return h('time', { datetime: iso, title: formatRelative(iso) }, formatDateTime(iso));
}

function row(t) {
  const expired = t.status === 'expired' || isPast(t.expires_at);
  const nameId = `name-${t.id}`;
  const edit = h(
    'button',
    {
      type: 'button',
      class: 'icon-button',
      'aria-label': 'Edit',
      'aria-describedby': nameId,
      'aria-disabled': expired ? 'true' : null,
      title: expired ? 'An expired token can only be deleted' : 'Edit',
    },
    icon('pencil', 17),
  );
  const trash = h(
    'button',
    {
      type: 'button',
      class: 'icon-button trash',
      'aria-label': 'Delete',
      'aria-describedby': nameId,
      title: 'Delete',
      'data-focus-key': `trash-${t.id}`,
    },
    icon('trash', 17),
  );
  edit.addEventListener('click', () => {
    if (!expired) location.hash = `#/personal-tokens/${t.id}/edit`;
  });
  trash.addEventListener('click', () => confirmDelete.open(t, trash, $('add-token')));
  return h(
    'tr',
    { 'data-id': t.id },
    h('td', { class: 'cell-name', 'data-label': 'Name' }, h('span', { class: 'token-name', id: nameId, title: t.name }, t.name)),
    h(
      'td',
      { class: 'cell-desc', 'data-label': 'Description' },
      t.description
        ? h('div', { class: 'token-desc', title: t.description }, t.description)
        : h('span', { class: 'none' }, 'None'),
    ),
    h(
      'td',
      { 'data-label': 'Expires' },
      h('span', { class: 'expires' }, timeCell(t.expires_at), expired && h('span', { class: 'badge badge-expired' }, 'Expired')),
    ),
    h('td', { 'data-label': 'Created' }, timeCell(t.created)),
    h('td', { 'data-label': 'Last used' }, t.last_used_at ? timeCell(t.last_used_at) : h('span', { class: 'none' }, 'Never')),
    h('td', { class: 'cell-actions' }, h('span', { class: 'row-actions' }, edit, trash)),
  );
}

function stateBox(kind, iconName, title, text, action) {
  return h(
    'div',
    { class: `state ${kind}` },
    h('span', { class: 'state-icon' }, icon(iconName, 26)),
    h('h2', {}, title),
    h('p', {}, text),
    action,
  );
}

function render(s) {
  const table = $('tokens-table');
  const pager = $('pager');
  table.setAttribute('aria-busy', String(s.status === 'loading'));
  for (const th of table.querySelectorAll('th[data-col]')) {
    const col = th.dataset.col;
    const button = th.querySelector('button');
    const dir = s.ordering === col ? 'ascending' : s.ordering === `-${col}` ? 'descending' : null;
    if (dir) th.setAttribute('aria-sort', dir);
    else th.removeAttribute('aria-sort');
    button.replaceChildren(button.textContent, icon(dir === 'ascending' ? 'up' : dir === 'descending' ? 'down' : 'updown', 13));
  }
  $('sort-select').value = s.ordering;

  if (s.status === 'loading' && !s.loaded) {
    table.hidden = true;
    pager.hidden = true;
    state.replaceChildren(h('div', { class: 'state' }, h('div', { class: 'spinner' }), h('p', {}, 'Loading tokens…')));
    return;
  }
  if (s.status === 'loading') return;
  if (s.status === 'error' || s.results.length === 0) tbody.replaceChildren();
  if (s.status === 'error') {
    table.hidden = true;
    pager.hidden = true;
    const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
    retry.addEventListener('click', () => list.load());
    state.replaceChildren(stateBox('error', 'alert', 'The tokens could not be loaded', sentence(s.error.message), retry));
    return;
  }
  if (s.results.length === 0) {
    table.hidden = true;
    pager.hidden = true;
    if (s.search) {
      const clear = h('button', { type: 'button', class: 'button' }, 'Clear search');
      clear.addEventListener('click', () => {
        $('search').value = '';
        list.search('');
        $('search').focus();
      });
      state.replaceChildren(stateBox('', 'search', 'No matching tokens', `Nothing matches “${s.search}”.`, clear));
    } else {
      state.replaceChildren(
        stateBox('', 'key', 'You have no personal tokens', 'Use Add Personal Token to create one for the CLI, a script or a service.'),
      );
    }
    return;
  }
  table.hidden = false;
  pager.hidden = false;
  state.replaceChildren();
  tbody.replaceChildren(...s.results.map(row));
  $('pager-range').textContent = `Showing ${rangeText(s)}`;
  $('pager-page').textContent = `Page ${s.page} of ${Math.max(1, s.totalPages)}`;
  $('page-prev').disabled = s.page <= 1;
  $('page-next').disabled = s.page >= s.totalPages;
}

for (const b of document.querySelectorAll('button.sort')) b.addEventListener('click', () => list.sort(b.dataset.sort));
$('sort-select').addEventListener('change', (e) => list.setOrdering(e.target.value));
$('page-prev').addEventListener('click', () => list.goTo(list.state.page - 1));
$('page-next').addEventListener('click', () => list.goTo(list.state.page + 1));

let searchTimer = 0;
$('search').addEventListener('input', (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => list.search(e.target.value.trim()), 250);
});

function notice(text) {
  $('tokens-notice-text').textContent = text;
  $('tokens-notice').hidden = false;
}

function hideNotice() {
  $('tokens-notice').hidden = true;
  $('tokens-notice-text').textContent = '';
}

$('tokens-notice-close').addEventListener('click', () => {
  hideNotice();
  $('tokens-title').focus();
});

// ---- add and edit ----

const form = tokenForm($('token-form'), {
  maxDays: () => maxDays,
  summary: $('tf-summary'),
  customField: $('tf-custom'),
  submitButton: $('token-save'),
  onUnchanged: () => {
    location.hash = '#/personal-tokens';
  },
  async onSubmit(body, current) {
    hideNotice();
    if (current) {
      const res = await api.updateToken(current.id, body);
      location.hash = '#/personal-tokens';
      notice(`The personal token “${res.data.name}” was updated.`);
      return;
    }
    const res = await api.createToken(body);
    const { key, name, expires_at: expiresAt } = res.data;
    location.hash = '#/personal-tokens';
    secret.open({
      key,
      text: `“${name}” expires on ${formatDate(new Date(expiresAt))}.`,
      from: $('add-token'),
      fallback: $('tokens-title'),
    });
  },
});

function openForm(token) {
  const title = token ? 'Edit Personal Token' : 'Add Personal Token';
  hideNotice();
  show('form', title, [TOKENS, [title]]);
  $('form-title').textContent = title;
  $('token-save').textContent = token ? 'Save Changes' : 'Create Token';
  form.reset(token);
}

$('add-token').addEventListener('click', () => {
  location.hash = '#/personal-tokens/new';
});
$('form-cancel').addEventListener('click', () => {
  location.hash = '#/personal-tokens';
});

const secret = secretDialog($('secret-dialog'), { iconCopy: true });

// ---- delete ----

const confirmDelete = deleteDialog($('delete-dialog'), {
  async onConfirm(t) {
    await api.deleteToken(t.id);
    await list.load();
    notice(`The personal token “${t.name}” was deleted.`);
  },
});

// ---- start ----

$('curl-example').textContent = [
  `curl -X PATCH ${location.origin}/v4/iam/personal_tokens/[TOKEN ID] \\`,
  '  -H "Authorization: Token [TOKEN VALUE]" \\',
  '  -H "Content-Type: application/json" \\',
  `  -d '{"name": "CI deploy", "description": "Deploys from CI", "expires_at": "2027-12-31"}'`,
].join('\n');

async function start() {
  if (!api.hasSessionHint()) {
    showLogin();
    return;
  }
  try {
    await enter();
    route({ focus: false });
  } catch {
    showLogin();
  }
}

start();
