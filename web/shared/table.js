// table.js - the tokens table both consoles draw from a tokenList: the
// cells they have in common, the sort indicators, the loading, error and
// empty states, the pager, the search box and the status filter. Each
// console gives its own rows and texts.

import { sentence } from './forms.js';
import { rangeText, tokenList } from './list.js';
import { SOON_DAYS, formatDateTime, formatRelative, isPast } from './time.js';
import { expiryBadge, scopesCell } from './scopes.js';
import { h, icon } from './ui.js';

const $ = (id) => document.getElementById(id);

// ---- cells ----

function timeCell(iso) {
  return h('time', { datetime: iso, title: formatRelative(iso) }, formatDateTime(iso));
}

const none = (text) => h('span', { class: 'muted' }, text);

// The cells both consoles show for token `t`, for each to put in its own
// order; `expired` says whether the token can still be changed. The name
// opens the token's details: `open` is the address of a page that shows
// them, or a function that does.
export function tokenCells(t, nameId, open) {
  const expired = t.status === 'expired' || isPast(t.expires_at);
  const attrs = { class: 'token-name', id: nameId, title: t.name, 'data-focus-key': nameId };
  const link =
    typeof open === 'string'
      ? h('a', { ...attrs, href: open }, t.name)
      : h('button', { ...attrs, type: 'button', onclick: () => open(t) }, t.name);
  return {
    expired,
    name: h('td', { class: 'cell-name', 'data-label': 'Name' }, link),
    scopes: h('td', { class: 'cell-scopes', 'data-label': 'Scopes' }, scopesCell(t.scopes)),
    description: h(
      'td',
      { class: 'cell-desc', 'data-label': 'Description' },
      t.description ? h('div', { class: 'token-desc', title: t.description }, t.description) : none('None'),
    ),
    created: h('td', { 'data-label': 'Created' }, timeCell(t.created)),
    expires: h(
      'td',
      { 'data-label': 'Expires' },
      h('span', { class: 'expires' }, timeCell(t.expires_at), expiryBadge(t)),
    ),
    lastUsed: h('td', { 'data-label': 'Last used' }, t.last_used_at ? timeCell(t.last_used_at) : none('Never')),
  };
}

// What an empty list says under each status filter.
const NONE = {
  active: 'You have no active tokens.',
  expiring: `None of your tokens expires within ${SOON_DAYS} days.`,
  expired: 'You have no expired tokens.',
};

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

// opts: row(token) makes a <tr>; loading(table, tbody, state) draws the
// first load; sortIconSize; the texts errorTitle, noMatch(search),
// emptyTitle, emptyText; rangePrefix before "1–20 of 45".
// Returns the tokenList, with clear() that also empties the search box.
export function tokenTable(opts) {
  const table = $('tokens-table');
  const tbody = $('tokens-body');
  const state = $('tokens-state');
  const pager = $('pager');
  const search = $('search');
  const filter = $('status-filter');
  const list = tokenList(render);

  function render(s) {
    table.setAttribute('aria-busy', String(s.status === 'loading'));
    // Sort indicators.
    for (const th of table.querySelectorAll('th[data-col]')) {
      const col = th.dataset.col;
      const button = th.querySelector('button');
      const dir = s.ordering === col ? 'ascending' : s.ordering === `-${col}` ? 'descending' : null;
      if (dir) th.setAttribute('aria-sort', dir);
      else th.removeAttribute('aria-sort');
      const name = dir === 'ascending' ? 'up' : dir === 'descending' ? 'down' : 'updown';
      button.replaceChildren(button.textContent, icon(name, opts.sortIconSize));
    }
    $('sort-select').value = s.ordering;
    filter.value = s.filter;

    if (s.status === 'loading' && !s.loaded) {
      pager.hidden = true;
      opts.loading(table, tbody, state);
      return;
    }
    if (s.status === 'loading') return; // keep the rows until the new page is in
    if (s.status === 'error' || s.results.length === 0) tbody.replaceChildren();
    if (s.status === 'error') {
      table.hidden = true;
      pager.hidden = true;
      const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
      retry.addEventListener('click', () => list.load());
      state.replaceChildren(stateBox('error', 'alert', opts.errorTitle, sentence(s.error.message), retry));
      return;
    }
    if (s.results.length === 0) {
      table.hidden = true;
      pager.hidden = true;
      if (s.filter) {
        const all = h('button', { type: 'button', class: 'button' }, 'Show all tokens');
        all.addEventListener('click', () => {
          list.setFilter('');
          filter.focus();
        });
        const text = s.search ? `No ${s.filter} token has “${s.search}” in its name or description.` : NONE[s.filter];
        state.replaceChildren(stateBox('', 'search', 'No matching tokens', text, all));
      } else if (s.search) {
        const clear = h('button', { type: 'button', class: 'button' }, 'Clear search');
        clear.addEventListener('click', () => {
          search.value = '';
          list.search('');
          search.focus();
        });
        state.replaceChildren(stateBox('', 'search', 'No matching tokens', opts.noMatch(s.search), clear));
      } else {
        state.replaceChildren(stateBox('', 'key', opts.emptyTitle, opts.emptyText));
      }
      return;
    }
    table.hidden = false;
    pager.hidden = false;
    state.replaceChildren();
    tbody.replaceChildren(...s.results.map(opts.row));
    $('pager-range').textContent = `${opts.rangePrefix || ''}${rangeText(s)}`;
    $('pager-page').textContent = `Page ${s.page} of ${Math.max(1, s.totalPages)}`;
    $('page-prev').disabled = s.page <= 1;
    $('page-next').disabled = s.page >= s.totalPages;
  }

  for (const b of table.querySelectorAll('button.sort')) b.addEventListener('click', () => list.sort(b.dataset.sort));
  $('sort-select').addEventListener('change', (e) => list.setOrdering(e.target.value));
  filter.addEventListener('change', () => list.setFilter(filter.value));
  $('page-prev').addEventListener('click', () => list.goTo(list.state.page - 1));
  $('page-next').addEventListener('click', () => list.goTo(list.state.page + 1));
  $('page-size')?.addEventListener('change', (e) => list.setPageSize(Number(e.target.value)));

  let searchTimer = 0;
  search.addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => list.search(e.target.value.trim()), 250);
  });

  list.clear = () => {
    list.reset();
    search.value = '';
    filter.value = '';
  };
  return list;
}
