// app.js - the Tessera Console: log in, the account menu, Personal Tokens.

import * as api from '/shared/api.js';
import { deleteDialog, secretDialog } from '/shared/dialogs.js';
import { sentence, tokenForm } from '/shared/forms.js';
import { rangeText, tokenList } from '/shared/list.js';
import {
  formatDate,
  formatDateTime,
  formatRelative,
  isPast,
  setServerTime,
} from '/shared/time.js';
import { actionMenu, disclosure, h, hydrateIcons, icon, showDialog, toast } from '/shared/ui.js';

const $ = (id) => document.getElementById(id);
const TITLE = 'Tessera Console';

let user = null;
let maxDays = 366;

hydrateIcons();

// ---- views and routes ----

const views = ['loading', 'login', 'home', 'tokens'];

function show(view, title) {
  for (const v of views) $(`view-${v}`).hidden = v !== view;
  $('account').hidden = !user;
  document.title = title ? `${title} · ${TITLE}` : TITLE;
}

function route({ focus = true } = {}) {
  if (!user) return;
  const tokens = location.hash.startsWith('#/personal-tokens');
  if (tokens) {
    show('tokens', 'Personal Tokens');
    list.load();
  } else {
    show('home', 'Home');
  }
  if (focus) $(tokens ? 'tokens-title' : 'home-title').focus();
}

window.addEventListener('hashchange', () => route());

function setUser(u) {
  user = u;
  if (!u) return;
  $('account-email').textContent = u.email;
  $('account-initial').textContent = (u.email[0] || '?').toUpperCase();
  $('home-email').textContent = u.email;
}

async function enter() {
  const [meRes, cfg] = await Promise.all([api.me(), api.config()]);
  setServerTime(cfg.data.now);
  maxDays = cfg.data.max_lifetime_days;
  setUser(meRes.data);
}

function showLogin(notice) {
  user = null;
  list.reset();
  $('search').value = '';
  $('toasts').replaceChildren();
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
  submit.textContent = 'Logging in…';
  try {
    await api.login(email.value.trim(), password.value);
    await enter();
    password.value = '';
    route();
  } catch (err) {
    error.textContent =
      err.status === 401 ? 'The email or password is wrong. Check them and try again.' : sentence(err.message);
    error.hidden = false;
    password.value = '';
    password.focus();
  } finally {
    submit.disabled = false;
    submit.removeAttribute('aria-busy');
    submit.textContent = 'Log in';
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

// ---- the tokens table ----

const list = tokenList(render);
const tbody = $('tokens-body');
const state = $('tokens-state');

function timeCell(iso) {
  return h('time', { datetime: iso, title: formatRelative(iso) }, formatDateTime(iso));
}

function row(t) {
  const expired = t.status === 'expired' || isPast(t.expires_at);
  const menuId = `menu-${t.id}`;
  const nameId = `name-${t.id}`;
  const more = h(
    'button',
    {
      type: 'button',
      class: 'icon-button',
      'aria-label': 'More actions',
      'aria-describedby': nameId,
      'aria-haspopup': 'menu',
      'aria-expanded': 'false',
      'aria-controls': menuId,
      'data-focus-key': `more-${t.id}`,
    },
    icon('dots', 20),
  );
  const edit = h(
    'button',
    {
      type: 'button',
      role: 'menuitem',
      class: 'menu-item',
      tabindex: '-1',
      'aria-disabled': expired ? 'true' : null,
      title: expired ? 'An expired token can only be deleted' : null,
    },
    icon('pencil', 16),
    'Edit',
  );
  const del = h(
    'button',
    { type: 'button', role: 'menuitem', class: 'menu-item danger', tabindex: '-1' },
    icon('trash', 16),
    'Delete',
  );
  const menu = h('div', { class: 'menu', role: 'menu', id: menuId, 'aria-label': `Actions for ${t.name}`, hidden: true }, edit, del);
  const wrap = h('div', { class: 'row-menu' }, more, menu);
  actionMenu(more, menu);
  edit.addEventListener('click', () => {
    if (!expired) openForm(t, more);
  });
  del.addEventListener('click', () => confirmDelete.open(t, more, $('new-token')));

  return h(
    'tr',
    { 'data-id': t.id },
    h('td', { class: 'cell-name', 'data-label': 'Name' }, h('span', { class: 'token-name', id: nameId, title: t.name }, t.name)),
    h(
      'td',
      { class: 'cell-desc', 'data-label': 'Description' },
      t.description
        ? h('div', { class: 'token-desc', title: t.description }, t.description)
        : h('span', { class: 'never' }, 'None'),
    ),
    h('td', { 'data-label': 'Key hint' }, h('code', { class: 'key-hint' }, `${t.key_hint}…`)),
    h('td', { 'data-label': 'Created' }, timeCell(t.created)),
    h(
      'td',
      { 'data-label': 'Expires' },
      h('span', { class: 'expires' }, timeCell(t.expires_at), expired && h('span', { class: 'badge badge-expired' }, 'Expired')),
    ),
    h(
      'td',
      { 'data-label': 'Last used' },
      t.last_used_at ? timeCell(t.last_used_at) : h('span', { class: 'never' }, 'Never'),
    ),
    h('td', { class: 'cell-actions' }, wrap),
  );
}

function skeleton() {
  return Array.from({ length: 3 }, () => {
    const tr = h('tr', { class: 'skeleton-row', 'aria-hidden': 'true' });
    for (let i = 0; i < 7; i++) tr.append(h('td', {}, h('span', { class: 'skeleton' })));
    return tr;
  });
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
  // Sort indicators.
  for (const th of table.querySelectorAll('th[data-col]')) {
    const col = th.dataset.col;
    const button = th.querySelector('button');
    const dir = s.ordering === col ? 'ascending' : s.ordering === `-${col}` ? 'descending' : null;
    if (dir) th.setAttribute('aria-sort', dir);
    else th.removeAttribute('aria-sort');
    button.replaceChildren(button.textContent, icon(dir === 'ascending' ? 'up' : dir === 'descending' ? 'down' : 'updown', 14));
  }
  $('sort-select').value = s.ordering;

  if (s.status === 'loading' && !s.loaded) {
    table.hidden = false;
    tbody.replaceChildren(...skeleton());
    state.replaceChildren(h('p', { class: 'visually-hidden' }, 'Loading tokens…'));
    pager.hidden = true;
    return;
  }
  if (s.status === 'loading') return; // keep the rows until the new page is in
  if (s.status === 'error' || s.results.length === 0) tbody.replaceChildren();
  if (s.status === 'error') {
    table.hidden = true;
    pager.hidden = true;
    const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
    retry.addEventListener('click', () => list.load());
    state.replaceChildren(stateBox('error', 'alert', 'Your tokens could not be loaded', sentence(s.error.message), retry));
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
      state.replaceChildren(
        stateBox('', 'search', 'No matching tokens', `No token has “${s.search}” in its name or description.`, clear),
      );
    } else {
      state.replaceChildren(
        stateBox(
          '',
          'key',
          'No personal tokens yet',
          'A personal token lets the Tessera CLI, your scripts and your services call the API as you. Click + Personal Token to create your first one.',
        ),
      );
    }
    return;
  }
  table.hidden = false;
  pager.hidden = false;
  state.replaceChildren();
  tbody.replaceChildren(...s.results.map(row));
  $('pager-range').textContent = rangeText(s);
  $('pager-page').textContent = `Page ${s.page} of ${Math.max(1, s.totalPages)}`;
  $('page-prev').disabled = s.page <= 1;
  $('page-next').disabled = s.page >= s.totalPages;
}

for (const b of document.querySelectorAll('button.sort')) b.addEventListener('click', () => list.sort(b.dataset.sort));
$('sort-select').addEventListener('change', (e) => list.setOrdering(e.target.value));
$('page-prev').addEventListener('click', () => list.goTo(list.state.page - 1));
$('page-next').addEventListener('click', () => list.goTo(list.state.page + 1));
$('page-size').addEventListener('change', (e) => list.setPageSize(Number(e.target.value)));

let searchTimer = 0;
$('search').addEventListener('input', (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => list.search(e.target.value.trim()), 250);
});

// ---- create and edit ----

const tokenDialog = $('token-dialog');
const form = tokenForm($('token-form'), {
  maxDays: () => maxDays,
  summary: $('tf-summary'),
  customField: $('tf-custom'),
  submitButton: $('token-save'),
  onUnchanged: () => tokenDialog.close(),
  async onSubmit(body, current) {
    if (current) {
      const res = await api.updateToken(current.id, body);
      await list.load();
      tokenDialog.close();
      toast($('toasts'), `Your changes to “${res.data.name}” have been saved.`);
      return;
    }
    const res = await api.createToken(body);
    const { key, name, expires_at: expiresAt } = res.data;
    tokenDialog.close();
    list.load();
    secret.open({
      key,
      text: `“${name}” expires on ${formatDate(new Date(expiresAt))}.`,
      from: $('new-token'),
      fallback: $('tokens-title'),
    });
  },
});

function openForm(token, from) {
  $('token-dialog-title').textContent = token ? 'Edit Personal Token' : 'New Personal Token';
  $('token-dialog-lead').textContent = token
    ? 'Change the name, description or expiry. The token itself stays the same.'
    : 'The token is shown once, right after you save it.';
  form.reset(token);
  showDialog(tokenDialog, from, $('tokens-title'));
  $('tf-name').focus();
}

tokenDialog.querySelector('[data-cancel]').addEventListener('click', () => tokenDialog.close());
tokenDialog.addEventListener('close', () => form.stop());
$('new-token').addEventListener('click', (e) => openForm(null, e.currentTarget));

const secret = secretDialog($('secret-dialog'));

// ---- delete ----

const confirmDelete = deleteDialog($('delete-dialog'), {
  async onConfirm(t) {
    await api.deleteToken(t.id);
    await list.load();
    toast($('toasts'), `The personal token “${t.name}” has been deleted.`);
  },
});

// ---- start ----

$('curl-example').textContent = [
  'curl \\',
  '  -H "Authorization: Token [TOKEN VALUE]" \\',
  `  ${location.origin}/v4/iam/personal_tokens`,
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
