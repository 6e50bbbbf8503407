// ui.js - small pieces both consoles build with: icons, menus, toasts and
// dialog focus. Plain DOM; text always goes in through textContent.

const SVG = 'http://www.w3.org/2000/svg';

// 24x24 outline icons: each is a list of [element, attributes].
const ICONS = {
  menu: [['path', { d: 'M4 6.5h16M4 12h16M4 17.5h16' }]],
  dots: [
    ['circle', { cx: 12, cy: 5, r: 1.7, fill: 'currentColor', stroke: 'none' }],
    ['circle', { cx: 12, cy: 12, r: 1.7, fill: 'currentColor', stroke: 'none' }],
    ['circle', { cx: 12, cy: 19, r: 1.7, fill: 'currentColor', stroke: 'none' }],
  ],
  eye: [
    ['path', { d: 'M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z' }],
    ['circle', { cx: 12, cy: 12, r: 3 }],
  ],
  eyeOff: [
    ['path', { d: 'M3 3l18 18' }],
    ['path', { d: 'M10.6 5.1A10 10 0 0 1 12 5c6.4 0 10 7 10 7a17.6 17.6 0 0 1-3.1 4' }],
    ['path', { d: 'M6.6 6.6C3.8 8.4 2 12 2 12s3.6 7 10 7a9.7 9.7 0 0 0 5.4-1.6' }],
    ['path', { d: 'M9.9 9.9a3 3 0 0 0 4.2 4.2' }],
  ],
  copy: [
    ['rect', { x: 9, y: 9, width: 12, height: 12, rx: 2 }],
    ['path', { d: 'M5 15H4.5A1.5 1.5 0 0 1 3 13.5v-9A1.5 1.5 0 0 1 4.5 3h9A1.5 1.5 0 0 1 15 4.5V5' }],
  ],
  check: [['path', { d: 'M5 12.5l4.5 4.5L19 7.5' }]],
  checkCircle: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M8 12.5l2.8 2.8L16.5 9.5' }],
  ],
  trash: [
    ['path', { d: 'M4 7h16M10 11v6M14 11v6M9 7V4.5h6V7' }],
    ['path', { d: 'M6 7l1 12.2A2 2 0 0 0 9 21h6a2 2 0 0 0 2-1.8L18 7' }],
  ],
  pencil: [
    ['path', { d: 'M4 20h4L19.5 8.5a2.1 2.1 0 0 0-3-3L5 17v3z' }],
    ['path', { d: 'M14.5 7.5l3 3' }],
  ],
  rotate: [
    ['path', { d: 'M19.5 10.5A7.8 7.8 0 0 0 5.4 7M4.5 13.5A7.8 7.8 0 0 0 18.6 17' }],
    ['path', { d: 'M5 3v4h4M19 21v-4h-4' }],
  ],
  key: [
    ['circle', { cx: 8, cy: 15, r: 4.5 }],
    ['path', { d: 'M11.2 11.8L20 3M16.5 6.5l3 3M14 9l2 2' }],
  ],
  logout: [['path', { d: 'M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 16.5l4.5-4.5L10 7.5M14.5 12H3' }]],
  search: [
    ['circle', { cx: 11, cy: 11, r: 7 }],
    ['path', { d: 'M20.5 20.5L16 16' }],
  ],
  x: [['path', { d: 'M6 6l12 12M18 6L6 18' }]],
  alert: [
    ['path', { d: 'M10.3 4.2L2.6 18a2 2 0 0 0 1.7 3h15.4a2 2 0 0 0 1.7-3L13.7 4.2a2 2 0 0 0-3.4 0z' }],
    ['path', { d: 'M12 9.5v4.5M12 17.2v.3' }],
  ],
  info: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M12 11v5.5M12 7.7v.3' }],
  ],
  clock: [
    ['circle', { cx: 12, cy: 12, r: 9 }],
    ['path', { d: 'M12 7v5l3.2 2' }],
  ],
  user: [
    ['circle', { cx: 12, cy: 8, r: 4 }],
    ['path', { d: 'M4 21a8 8 0 0 1 16 0' }],
  ],
  home: [['path', { d: 'M3 11l9-7 9 7M5.5 9.5V20h13V9.5' }]],
  terminal: [
    ['rect', { x: 3, y: 4, width: 18, height: 16, rx: 2 }],
    ['path', { d: 'M7 9l3 3-3 3M12.5 15H17' }],
  ],
  up: [['path', { d: 'M7 14l5-5 5 5' }]],
  down: [['path', { d: 'M7 10l5 5 5-5' }]],
  updown: [['path', { d: 'M8 9.5l4-4 4 4M8 14.5l4 4 4-4' }]],
  left: [['path', { d: 'M14.5 6l-6 6 6 6' }]],
  right: [['path', { d: 'M9.5 6l6 6-6 6' }]],
  plus: [['path', { d: 'M12 5v14M5 12h14' }]],
};

export function icon(name, size = 18) {
  const svg = document.createElementNS(SVG, 'svg');
  for (const [k, v] of Object.entries({
    viewBox: '0 0 24 24',
    width: size,
    height: size,
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': 1.8,
    'stroke-linecap': 'round',
    'stroke-linejoin': 'round',
    'aria-hidden': 'true',
    focusable: 'false',
  }))
    svg.setAttribute(k, String(v));
  for (const [tag, attrs] of ICONS[name] || []) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.append(el);
  }
  return svg;
}

// Fills every <span data-icon="name" data-size="n"> under root.
export function hydrateIcons(root = document) {
  for (const slot of root.querySelectorAll('[data-icon]')) {
    slot.replaceChildren(icon(slot.dataset.icon, Number(slot.dataset.size) || 18));
    slot.classList.add('icon');
  }
}

// h('td', {class: 'x'}, 'text', child) - text children become text nodes.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

// ---- menus ----

let openClose = null; // closes the menu that is open, if any

function closeOpen() {
  if (openClose) openClose(false);
}

document.addEventListener('pointerdown', (e) => {
  if (openClose && !e.target.closest('[data-menu-root]')) closeOpen();
});

function place(button, panel) {
  panel.classList.remove('up');
  const r = panel.getBoundingClientRect();
  const b = button.getBoundingClientRect();
  if (r.bottom > window.innerHeight - 8 && b.top > r.height + 8) panel.classList.add('up');
}

// The account menu: a button that shows and hides a panel of links.
export function disclosure(button, panel) {
  const root = button.parentElement;
  root.dataset.menuRoot = '';
  const set = (open, focusButton) => {
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) {
      openClose = (o) => set(o, false);
    } else {
      if (openClose) openClose = null;
      if (focusButton) button.focus();
    }
  };
  button.addEventListener('click', () => {
    const open = panel.hidden;
    closeOpen();
    set(open, false);
  });
  root.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !panel.hidden) {
      e.stopPropagation();
      set(false, true);
    }
  });
  root.addEventListener('focusout', (e) => {
    if (!panel.hidden && e.relatedTarget && !root.contains(e.relatedTarget)) set(false, false);
  });
  panel.addEventListener('click', (e) => {
    if (e.target.closest('a, button')) set(false, false);
  });
  return { close: () => set(false, false) };
}

// An ARIA menu of actions (role=menu) behind a button, with arrow keys.
export function actionMenu(button, menu) {
  const root = button.parentElement;
  root.dataset.menuRoot = '';
  const items = () => [...menu.querySelectorAll('[role="menuitem"]')];
  const set = (open, focus) => {
    menu.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) {
      openClose = (o) => set(o, false);
      place(button, menu);
      if (focus === 'first') items()[0]?.focus();
      if (focus === 'last') items().at(-1)?.focus();
    } else {
      if (openClose) openClose = null;
      if (focus === 'button') button.focus();
    }
  };
  button.addEventListener('click', () => {
    const open = menu.hidden;
    closeOpen();
    set(open, open ? 'first' : null);
  });
  button.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      closeOpen();
      set(true, e.key === 'ArrowDown' ? 'first' : 'last');
    }
  });
  menu.addEventListener('keydown', (e) => {
    const list = items();
    const i = list.indexOf(document.activeElement);
    const go = (j) => list[(j + list.length) % list.length]?.focus();
    if (e.key === 'ArrowDown') go(i + 1);
    else if (e.key === 'ArrowUp') go(i - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(list.length - 1);
    else if (e.key === 'Escape') {
      e.stopPropagation();
      set(false, 'button');
    } else if (e.key === 'Tab') set(false, null);
    else return;
    if (e.key !== 'Tab') e.preventDefault();
  });
  menu.addEventListener('click', (e) => {
    const item = e.target.closest('[role="menuitem"]');
    if (item && item.getAttribute('aria-disabled') !== 'true') set(false, null);
  });
  return { close: () => set(false, null) };
}

// ---- toasts ----

export function toast(region, message, { timeout = 8000 } = {}) {
  const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Dismiss' }, icon('x', 16));
  const el = h('div', { class: 'toast' }, icon('checkCircle', 20), h('p', {}, message), close);
  const remove = () => el.remove();
  close.addEventListener('click', remove);
  region.append(el);
  setTimeout(remove, timeout);
  return el;
}

// ---- dialogs ----

// Opens a modal <dialog>; when it closes, focus goes back to `from`, or to
// the element that replaced it (same data-focus-key) when the list was drawn
// again meanwhile, else to `fallback`.
export function showDialog(dialog, from, fallback) {
  const key = from?.dataset?.focusKey;
  const back = () => {
    dialog.removeEventListener('close', back);
    let target = from;
    if (target && !target.isConnected && key)
      target = document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (!target || !target.isConnected || target.closest('[hidden]')) target = fallback;
    target?.focus();
  };
  dialog.addEventListener('close', back);
  dialog.showModal();
}
