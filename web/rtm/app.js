// app.js - the Real-Time Manager, the classic console: the same account and
// tokens as the Console, in the older layout and with its labels.

import * as api from '/shared/api.js';
import { deleteDialog, graceNote, rotateDialog, secretDialog } from '/shared/dialogs.js';
import { tokenForm } from '/shared/forms.js';
import { knownScopes, tokenDetails } from '/shared/scopes.js';
import { isPast } from '/shared/time.js';
import { $, session } from '/shared/session.js';
import { tokenCells, tokenTable } from '/shared/table.js';
import { h, hydrateIcons, icon } from '/shared/ui.js';

hydrateIcons();

// ---- views, routes, breadcrumbs, the session ----

const app = session({
  title: 'Real-Time Manager',
  views: ['loading', 'login', 'home', 'tokens', 'form', 'details'],
  wrongPassword: 'Wrong email or password. Try again.',
  onShow(view, title, crumbs = []) {
    $('crumbs').hidden = !app.user;
    const items = [['Home', '#/'], ...crumbs];
    $('crumbs-list').replaceChildren(
      ...items.map(([text, href], i) =>
        h('li', {}, i === items.length - 1 ? h('span', { 'aria-current': 'page' }, text) : h('a', { href }, text)),
      ),
    );
  },
  onLogin() {
    list.clear();
    form.stop();
    hideNotice();
  },
  route,
});

const TOKENS = ['Personal Tokens', '#/personal-tokens'];

async function route({ focus = true } = {}) {
  if (!app.user) return;
  const hash = location.hash;
  const edit = hash.match(/^#\/personal-tokens\/([0-9a-f-]{36})\/edit$/);
  const details = hash.match(/^#\/personal-tokens\/([0-9a-f-]{36})$/);
  let target;
  if (hash === '#/personal-tokens/new') {
    openForm(null);
    target = 'form-title';
  } else if (edit) {
    app.show('loading', 'Edit Personal Token', [TOKENS, ['Edit Personal Token']]);
    try {
      const res = await api.request('GET', `/v4/iam/personal_tokens/${edit[1]}`);
      openForm(res.data);
    } catch (err) {
      if (err.status === 401) return;
      location.hash = '#/personal-tokens';
      return;
    }
    target = 'form-title';
  } else if (details) {
    form.stop();
    const crumbs = [TOKENS, ['Personal Token details']];
    app.show('loading', 'Personal Token details', crumbs);
    try {
      const [res] = await Promise.all([api.request('GET', `/v4/iam/personal_tokens/${details[1]}`), knownScopes()]);
      $('details-body').replaceChildren(tokenDetails(res.data));
      $('details-edit').href = `#/personal-tokens/${res.data.id}/edit`;
      $('details-edit').hidden = res.data.status === 'expired' || isPast(res.data.expires_at);
      app.show('details', 'Personal Token details', crumbs);
    } catch (err) {
      if (err.status === 401) return;
      location.hash = '#/personal-tokens';
      return;
    }
    target = 'details-title';
  } else if (hash.startsWith('#/personal-tokens')) {
    form.stop();
    app.show('tokens', 'Personal Tokens', [TOKENS]);
    list.load();
    target = 'tokens-title';
  } else {
    form.stop();
    app.show('home', 'Home');
    target = 'home-title';
  }
  if (focus) $(target).focus();
}

// ---- the list ----

function row(t) {
  const nameId = `name-${t.id}`;
  const cell = tokenCells(t, nameId, `#/personal-tokens/${t.id}`);
  const { expired } = cell;
  // The hint tells tokens of one name apart, and shows a regeneration.
  cell.name.append(
    h('div', { class: 'name-hint' }, h('span', { class: 'visually-hidden' }, 'Key hint: '), h('code', { class: 'key-hint' }, `${t.key_hint}…`)),
  );
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
  const regenerate = h(
    'button',
    {
      type: 'button',
      class: 'icon-button',
      'aria-label': 'Regenerate',
      'aria-describedby': nameId,
      'aria-disabled': expired ? 'true' : null,
      title: expired ? 'An expired token can only be deleted' : 'Regenerate',
      'data-focus-key': `regenerate-${t.id}`,
    },
    icon('rotate', 17),
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
  regenerate.addEventListener('click', () => {
    if (!expired) confirmRotate.open(t, regenerate, $('add-token'));
  });
  trash.addEventListener('click', () => confirmDelete.open(t, trash, $('add-token')));
  return h(
    'tr',
    { 'data-id': t.id },
    cell.name,
    cell.description,
    cell.scopes,
    cell.expires,
    cell.created,
    cell.lastUsed,
    h('td', { class: 'cell-actions' }, h('span', { class: 'row-actions' }, edit, regenerate, trash)),
  );
}

const list = tokenTable({
  row,
  sortIconSize: 13,
  loading(table, tbody, state) {
    table.hidden = true;
    state.replaceChildren(h('div', { class: 'state' }, h('div', { class: 'spinner' }), h('p', {}, 'Loading tokens…')));
  },
  errorTitle: 'The tokens could not be loaded',
  noMatch: (search) => `Nothing matches “${search}”.`,
  emptyTitle: 'You have no personal tokens',
  emptyText: 'Use Add Personal Token to create one for the CLI, a script or a service.',
  rangePrefix: 'Showing ',
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
  maxDays: () => app.maxDays,
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
    location.hash = '#/personal-tokens';
    secret.open(res.data, $('add-token'), $('tokens-title'));
  },
});

function openForm(token) {
  const title = token ? 'Edit Personal Token' : 'Add Personal Token';
  hideNotice();
  app.show('form', title, [TOKENS, [title]]);
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
  async onDeleted(t) {
    await list.load();
    notice(`The personal token “${t.name}” was deleted.`);
  },
});

// ---- regenerate ----

// The list shows the new key hint behind the pop-up with the new secret.
const confirmRotate = rotateDialog($('rotate-dialog'), {
  onRotated(t, answer, grace) {
    hideNotice();
    list.load();
    notice(`The personal token “${t.name}” was regenerated.`);
    const from = document.querySelector(`[data-focus-key="regenerate-${CSS.escape(t.id)}"]`);
    secret.open(answer, from, $('tokens-title'), { note: graceNote(grace) });
  },
});

// ---- start ----

$('curl-example').textContent = [
  `curl -X PATCH ${location.origin}/v4/iam/personal_tokens/[TOKEN ID] \\`,
  '  -H "Authorization: Token [TOKEN VALUE]" \\',
  '  -H "Content-Type: application/json" \\',
  `  -d '{"name": "CI deploy", "description": "Deploys from CI", "expires_at": "2027-12-31"}'`,
].join('\n');

app.start();
