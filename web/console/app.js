// app.js - the Tessera Console: log in, the account menu, Personal Tokens.

import * as api from '/shared/api.js';
import { deleteDialog, graceNote, rotateDialog, secretDialog } from '/shared/dialogs.js';
import { tokenForm } from '/shared/forms.js';
import { knownScopes, scopesCell, tokenDetails } from '/shared/scopes.js';
import { isPast } from '/shared/time.js';
import { $, session } from '/shared/session.js';
import { tokenCells, tokenTable } from '/shared/table.js';
import { actionMenu, h, hydrateIcons, icon, showDialog, toast } from '/shared/ui.js';

hydrateIcons();

// ---- views, routes, the session ----

const app = session({
  title: 'Tessera Console',
  views: ['loading', 'login', 'home', 'tokens'],
  wrongPassword: 'The email or password is wrong. Check them and try again.',
  busyLabel: 'Logging in…',
  onUser(u) {
    $('account-initial').textContent = (u.email[0] || '?').toUpperCase();
  },
  onLogin() {
    list.clear();
    $('toasts').replaceChildren();
  },
  route,
});

function route({ focus = true } = {}) {
  if (!app.user) return;
  const tokens = location.hash.startsWith('#/personal-tokens');
  if (tokens) {
    app.show('tokens', 'Personal Tokens');
    list.load();
  } else {
    app.show('home', 'Home');
  }
  if (focus) $(tokens ? 'tokens-title' : 'home-title').focus();
}

// ---- the tokens table ----

function row(t) {
  const menuId = `menu-${t.id}`;
  const nameId = `name-${t.id}`;
  const cell = tokenCells(t, nameId, (tok) => openDetails(tok));
  const { expired } = cell;
  cell.name.append(h('div', { class: 'name-scopes' }, h('span', { class: 'visually-hidden' }, 'Scopes: '), scopesCell(t.scopes)));
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
  // An expired token can be neither changed nor given a new secret.
  const regenerate = h(
    'button',
    {
      type: 'button',
      role: 'menuitem',
      class: 'menu-item',
      tabindex: '-1',
      'aria-disabled': expired ? 'true' : null,
      title: expired ? 'An expired token can only be deleted' : null,
    },
    icon('rotate', 16),
    'Regenerate',
  );
  const del = h(
    'button',
    { type: 'button', role: 'menuitem', class: 'menu-item danger', tabindex: '-1' },
    icon('trash', 16),
    'Delete',
  );
  const menu = h(
    'div',
    { class: 'menu', role: 'menu', id: menuId, 'aria-label': `Actions for ${t.name}`, hidden: true },
    edit,
    regenerate,
    del,
  );
  const wrap = h('div', { class: 'row-menu' }, more, menu);
  actionMenu(more, menu);
  edit.addEventListener('click', () => {
    if (!expired) openForm(t, more);
  });
  regenerate.addEventListener('click', () => {
    if (!expired) confirmRotate.open(t, more, $('new-token'));
  });
  del.addEventListener('click', () => confirmDelete.open(t, more, $('new-token')));

  return h(
    'tr',
    { 'data-id': t.id },
    cell.name,
    cell.description,
    h('td', { 'data-label': 'Key hint' }, h('code', { class: 'key-hint' }, `${t.key_hint}…`)),
    cell.created,
    cell.expires,
    cell.lastUsed,
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

const list = tokenTable({
  row,
  sortIconSize: 14,
  loading(table, tbody, state) {
    table.hidden = false;
    tbody.replaceChildren(...skeleton());
    state.replaceChildren(h('p', { class: 'visually-hidden' }, 'Loading tokens…'));
  },
  errorTitle: 'Your tokens could not be loaded',
  noMatch: (search) => `No token has “${search}” in its name or description.`,
  emptyTitle: 'No personal tokens yet',
  emptyText:
    'A personal token lets the Tessera CLI, your scripts and your services call the API as you. Click + Personal Token to create your first one.',
});

// ---- create and edit ----

const tokenDialog = $('token-dialog');
const form = tokenForm($('token-form'), {
  maxDays: () => app.maxDays,
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
    tokenDialog.close();
    list.load();
    secret.open(res.data, $('new-token'), $('tokens-title'));
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

// ---- details ----

const detailsDialog = $('details-dialog');
let shown = null; // the token whose details are open

// Shows what the list gave at once, then what the server says now (its
// last use moves on while the list stands still).
async function openDetails(t) {
  shown = t;
  const draw = (tok) => {
    $('details-body').replaceChildren(tokenDetails(tok));
    $('details-edit').hidden = tok.status === 'expired' || isPast(tok.expires_at);
  };
  draw(t);
  showDialog(detailsDialog, document.getElementById(`name-${t.id}`), $('tokens-title'));
  try {
    const [res] = await Promise.all([api.request('GET', `/v4/iam/personal_tokens/${encodeURIComponent(t.id)}`), knownScopes()]);
    if (shown === t && detailsDialog.open) draw((shown = res.data));
  } catch {
    /* the list's copy stays */
  }
}

detailsDialog.querySelector('[data-cancel]').addEventListener('click', () => detailsDialog.close());
// The form opens once the details have closed and given focus back.
$('details-edit').addEventListener('click', () => {
  const t = shown;
  detailsDialog.addEventListener('close', () => openForm(t, document.getElementById(`name-${t.id}`)), { once: true });
  detailsDialog.close();
});

// ---- delete ----

const confirmDelete = deleteDialog($('delete-dialog'), {
  async onDeleted(t) {
    await list.load();
    toast($('toasts'), `The personal token “${t.name}” has been deleted.`);
  },
});

// ---- regenerate ----

// The list shows the new key hint behind the pop-up with the new secret,
// which gives focus back to the row's menu button when it closes.
const confirmRotate = rotateDialog($('rotate-dialog'), {
  onRotated(t, answer, grace) {
    list.load();
    const from = document.querySelector(`[data-focus-key="more-${CSS.escape(t.id)}"]`);
    secret.open(answer, from, $('tokens-title'), { heading: 'Personal Token regenerated', note: graceNote(grace) });
  },
});

// ---- start ----

$('curl-example').textContent = [
  'curl \\',
  '  -H "Authorization: Token [TOKEN VALUE]" \\',
  `  ${location.origin}/v4/iam/personal_tokens`,
].join('\n');

app.start();
