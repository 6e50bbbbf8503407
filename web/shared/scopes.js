// scopes.js - what a token may do and from where, as both consoles show it:
// the form's choice of Global or of scopes (Tessera's own, then the
// operator's grouped by the part of the name before ':'), the table's
// compact cell, the badge of an expiry, and the details of one token.

import { listScopes } from './api.js';
import { SOON_DAYS, expiresSoon, formatDateTime, formatLong, isPast } from './time.js';
import { h, icon } from './ui.js';

export const GLOBAL = 'global';

// The last catalog the server gave, for the descriptions in the details.
let catalog = [];

const isGlobal = (scopes) => !scopes || scopes.includes(GLOBAL);

// The catalog, fetched once when none has come yet, for the details'
// descriptions; a failure leaves the details without them, nothing worse.
export async function knownScopes() {
  if (!catalog.length) catalog = await listScopes().catch(() => []);
  return catalog;
}

// [[title, scopes]]: Tessera's own but global (the other choice), then the
// operator's by the part before ':' ("orders"), then those without one.
function groups(list) {
  const by = new Map([['Tessera', []]]);
  const rest = [];
  for (const s of list) {
    const i = s.name.indexOf(':');
    const key = s.kind === 'builtin' ? 'Tessera' : i > 0 ? s.name.slice(0, i) : null;
    if (s.name === GLOBAL) continue;
    if (!key) rest.push(s);
    else by.set(key, [...(by.get(key) || []), s]);
  }
  if (rest.length) by.set('Other', rest);
  return [...by].filter(([, items]) => items.length);
}

// The scopes fieldset of a token form: radios named `access` (global or
// scoped), the list `#tf-scope-list`, the message `#tf-scopes-error`.
export function scopePicker(form) {
  const list = document.getElementById('tf-scope-list');
  const error = document.getElementById('tf-scopes-error');
  const access = () => form.elements.namedItem('access');
  let seq = 0;
  let ready = false;

  const boxes = () => [...list.querySelectorAll('input[type="checkbox"]')];

  function setError(message, box = null) {
    error.textContent = message;
    error.hidden = !message;
    for (const b of boxes()) b.removeAttribute('aria-invalid');
    box?.setAttribute('aria-invalid', 'true');
  }

  function sync() {
    list.hidden = access().value !== 'scoped';
  }

  function draw(chosen) {
    // A scope the token holds but the catalog lacks still shows, so that a
    // save does not drop it unseen.
    const known = new Set(catalog.map((s) => s.name));
    const extra = chosen.filter((n) => n !== GLOBAL && !known.has(n)).map((name) => ({ name, description: '', kind: 'operator' }));
    let i = 0;
    const sets = groups([...catalog, ...extra]).map(([title, items]) =>
      h(
        'fieldset',
        { class: 'scope-group' },
        h('legend', {}, title),
        items.map((s) => {
          const id = `tf-scope-${i++}`;
          const box = h('input', {
            type: 'checkbox',
            id,
            name: 'scope',
            value: s.name,
            'aria-describedby': s.description ? `${id}-hint` : null,
          });
          box.checked = chosen.includes(s.name);
          return h(
            'div',
            { class: 'choice' },
            box,
            h('label', { for: id }, s.name),
            s.description && h('p', { class: 'hint', id: `${id}-hint` }, s.description),
          );
        }),
      ),
    );
    list.replaceChildren(...(sets.length ? sets : [h('p', { class: 'hint' }, 'This server offers no scopes but Global.')]));
  }

  async function load(chosen) {
    const mine = ++seq;
    ready = false;
    list.replaceChildren(h('p', { class: 'hint' }, 'Loading scopes…'));
    try {
      const all = await listScopes();
      if (mine !== seq) return;
      catalog = all;
      ready = true;
      draw(chosen);
    } catch (err) {
      if (mine !== seq) return;
      const retry = h('button', { type: 'button', class: 'button' }, 'Try again');
      retry.addEventListener('click', () => load(chosen));
      list.replaceChildren(h('p', { class: 'hint' }, 'The scopes could not be loaded. '), retry);
    }
  }

  form.addEventListener('change', (e) => {
    if (e.target.name === 'access' || e.target.name === 'scope') {
      setError('');
      sync();
    }
  });

  return {
    // Global for a new token, else what `token` holds.
    reset(token) {
      const chosen = token ? token.scopes || [GLOBAL] : [GLOBAL];
      access().value = isGlobal(chosen) ? GLOBAL : 'scoped';
      setError('');
      sync();
      load(chosen);
    },
    // {scopes} to send, or {error, field} to show.
    value() {
      if (access().value !== 'scoped') return { scopes: [GLOBAL] };
      const first = form.querySelector('input[name="access"][value="scoped"]');
      if (!ready) return { error: 'The scopes are still loading: wait a moment, or choose Global.', field: first };
      const scopes = boxes().filter((b) => b.checked).map((b) => b.value).sort();
      if (!scopes.length) return { error: 'Choose at least one scope, or Global.', field: boxes()[0] || first };
      return { scopes };
    },
    // Shows the server's `message` at the scope it names (index `n` of
    // `sent`), or at the whole choice; returns the element to focus.
    showError(message, sent, n) {
      const box = n === undefined ? null : boxes().find((b) => b.value === sent?.[n]);
      setError(message, box);
      return box || form.querySelector('input[name="access"]:checked');
    },
    clear: () => setError(''),
  };
}

// The table's cell: "Global", or at most two names and how many more.
export function scopesCell(scopes) {
  if (isGlobal(scopes)) return h('span', { class: 'badge badge-global' }, 'Global');
  const shown = scopes.slice(0, 2);
  const more = scopes.length - shown.length;
  return h(
    'span',
    { class: 'scopes', title: scopes.join(', ') },
    shown.map((n) => h('code', { class: 'scope' }, n)),
    more > 0 && h('span', { class: 'muted' }, `+${more} more`),
  );
}

const none = (text) => h('span', { class: 'muted' }, text);

// A <dl> of everything the API says about token `t` but its secret.
// "Expired", or "Expires soon" within the window of status=expiring, or
// nothing: words, so that the colour is never the only sign.
export function expiryBadge(t) {
  if (t.status === 'expired' || isPast(t.expires_at)) return h('span', { class: 'badge badge-expired' }, 'Expired');
  return (
    expiresSoon(t.expires_at) &&
    h('span', { class: 'badge badge-soon', title: `Expires within ${SOON_DAYS} days` }, icon('clock', 12), 'Expires soon')
  );
}

export function tokenDetails(t) {
  const describe = (n) => catalog.find((s) => s.name === n)?.description;
  const scopes = isGlobal(t.scopes)
    ? h('p', {}, h('span', { class: 'badge badge-global' }, 'Global'), ' ', none('Everything you can do.'))
    : h(
        'ul',
        { class: 'detail-list' },
        t.scopes.map((n) => h('li', {}, h('code', { class: 'scope' }, n), describe(n) && h('span', { class: 'muted' }, ` ${describe(n)}`))),
      );
  const ips = t.allowed_ips?.length
    ? h('ul', { class: 'detail-list' }, t.allowed_ips.map((a) => h('li', {}, h('code', {}, a))))
    : none('Any address');
  const when = (iso, empty) => (iso ? h('time', { datetime: iso, title: formatLong(new Date(iso)) }, formatDateTime(iso)) : none(empty));
  const rows = [
    ['Name', t.name],
    ['Description', t.description || none('None')],
    ['Key hint', h('code', {}, `${t.key_hint}…`)],
    ['Scopes', scopes],
    ['Allowed addresses', ips],
    ['Not before', when(t.not_before, 'Not set: usable at once')],
    ['Created', when(t.created)],
    ['Expires', h('span', { class: 'expires' }, when(t.expires_at), expiryBadge(t))],
    ['Last used', when(t.last_used_at, 'Never')],
    ['Last used IP', t.last_used_ip ? h('code', {}, t.last_used_ip) : none('Never used')],
  ];
  return h(
    'dl',
    { class: 'details' },
    rows.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))),
  );
}
