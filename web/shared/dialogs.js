// dialogs.js - the pop-ups both consoles share: the new token's secret, and
// the typed verification before a delete or a regeneration.

import { deleteToken, rotateToken } from './api.js';
import { h, icon, showDialog } from './ui.js';
import { sentence } from './forms.js';
import { formatDate } from './time.js';

// Puts text on the clipboard: the Clipboard API where the page may use it,
// else the older copy command on the selected field.
async function copyText(text, field) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall back below */
  }
  const type = field.type;
  try {
    field.type = 'text';
    field.select();
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    field.type = type;
    field.setSelectionRange(0, 0);
  }
}

// The secret lives in this closure and in the field while the pop-up is
// open; closing the pop-up, however it closes, removes the field and drops
// the secret. `iconCopy`: the copy button is an icon (RTM) rather than text.
export function secretDialog(dialog, { iconCopy = false } = {}) {
  const box = dialog.querySelector('[data-secret-box]');
  const toggle = dialog.querySelector('[data-secret-toggle]');
  const copy = dialog.querySelector('[data-secret-copy]');
  const status = dialog.querySelector('[data-secret-status]');
  const note = dialog.querySelector('[data-secret-copied]');
  const about = dialog.querySelector('[data-secret-about]');
  const title = dialog.querySelector('[data-secret-title]');
  const createdTitle = title.textContent;
  let secret = null;
  let field = null;
  let revert = 0;

  function setShown(shown) {
    if (field) field.type = shown ? 'text' : 'password';
    toggle.setAttribute('aria-label', shown ? 'Hide token' : 'Show token');
    toggle.replaceChildren(icon(shown ? 'eyeOff' : 'eye', 20));
  }

  function setCopied(copied) {
    clearTimeout(revert);
    if (iconCopy) {
      if (note) note.hidden = !copied;
    } else {
      copy.replaceChildren(icon(copied ? 'check' : 'copy'), copied ? 'Copied' : 'Copy');
    }
    if (copied) revert = setTimeout(() => setCopied(false), 4000);
  }

  function clear() {
    secret = null;
    field?.remove();
    field = null;
    setShown(false);
    setCopied(false);
    status.textContent = '';
    about.textContent = '';
  }

  toggle.addEventListener('click', () => setShown(field?.type === 'password'));
  copy.addEventListener('click', async () => {
    if (!secret) return;
    const ok = await copyText(secret, field);
    setCopied(ok);
    status.textContent = ok
      ? 'Token copied to the clipboard.'
      : 'The browser did not allow copying: show the token, then select and copy it.';
  });
  // The dialog's close event comes a task after close(): the secret is
  // dropped at once by our own buttons, and on close for any other way out.
  const closeNow = () => {
    clear();
    dialog.close();
  };
  dialog.addEventListener('cancel', clear);
  dialog.addEventListener('close', clear);
  // Nothing here is ever submitted: a form that sends a password-like field
  // could make a browser offer to save the secret.
  dialog.querySelector('form').addEventListener('submit', (e) => {
    e.preventDefault();
    closeNow();
  });
  dialog.querySelector('[data-secret-done]').addEventListener('click', closeNow);

  return {
    // token: the API's answer to a create or a rotation, with the secret in
    // `key`; `heading` replaces the pop-up's own, `note` follows what it
    // says of the token.
    open({ key, name, expires_at: expiresAt }, from, fallback, { heading = createdTitle, note = '' } = {}) {
      clear();
      secret = key;
      field = h('input', {
        id: 'secret-value',
        class: 'input',
        type: 'password',
        readonly: true,
        autocomplete: 'off',
        spellcheck: 'false',
        'aria-describedby': 'secret-warning',
      });
      field.value = key;
      box.prepend(field);
      toggle.setAttribute('aria-controls', 'secret-value');
      title.textContent = heading;
      about.textContent = `“${name}” expires on ${formatDate(new Date(expiresAt))}.${note ? ` ${note}` : ''}`;
      showDialog(dialog, from, fallback);
    },
  };
}

// Type `word`, then the button: it stays disabled until the word is there.
// act(token, form) does it through the API; then done(token, result) tells
// the page, before the pop-up closes or, with `doneAfterClose`, once it has
// closed and given focus back (for a page that opens another pop-up). An
// ApiError on the way is shown in the pop-up; `gone` is what a 404 says.
function typedConfirm(dialog, { word, act, done, doneAfterClose = false, gone, onOpen = () => {} }) {
  const form = dialog.querySelector('form');
  const input = form.elements.namedItem('confirm');
  const submit = dialog.querySelector('[data-confirm-submit]');
  const nameEl = dialog.querySelector('[data-confirm-name]');
  const error = dialog.querySelector('[data-form-error]');
  let token = null;

  const ready = () => input.value.trim() === word;
  const sync = () => {
    submit.disabled = !ready() || Boolean(form.dataset.busy);
  };

  input.addEventListener('input', sync);
  dialog.querySelector('[data-cancel]').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    token = null;
    input.value = '';
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!token || !ready() || form.dataset.busy) return;
    const t = token;
    form.dataset.busy = '1';
    submit.setAttribute('aria-busy', 'true');
    sync();
    error.hidden = true;
    try {
      const result = await act(t, form);
      if (doneAfterClose) {
        dialog.addEventListener('close', () => done(t, result), { once: true });
      } else {
        await done(t, result);
      }
      dialog.close();
    } catch (err) {
      if (err.status !== 401) {
        error.textContent = err.status === 404 ? gone : sentence(err.message);
        error.hidden = false;
      }
    } finally {
      delete form.dataset.busy;
      submit.removeAttribute('aria-busy');
      sync();
    }
  });

  return {
    open(t, from, fallback) {
      token = t;
      input.value = '';
      error.hidden = true;
      nameEl.textContent = t.name;
      onOpen(form);
      sync();
      showDialog(dialog, from, fallback);
      input.focus();
    },
  };
}

// Type `delete`, then Delete. onDeleted(token) tells the page, which
// updates the list before the pop-up closes.
export function deleteDialog(dialog, { onDeleted }) {
  return typedConfirm(dialog, {
    word: 'delete',
    act: (t) => deleteToken(t.id),
    done: (t) => onDeleted(t),
    gone: 'This token no longer exists: it was already deleted.',
  });
}

// Type `regenerate`, choose how long the old secret keeps working (the
// form's `grace` select, in seconds; at once by default), then Regenerate.
// Once the pop-up has closed, onRotated(token, answer, graceSeconds) gets
// the API's answer, whose `key` is the new secret, for the secret pop-up.
export function rotateDialog(dialog, { onRotated }) {
  return typedConfirm(dialog, {
    word: 'regenerate',
    onOpen(form) {
      form.elements.namedItem('grace').value = '0';
    },
    async act(t, form) {
      const grace = Number(form.elements.namedItem('grace').value) || 0;
      const res = await rotateToken(t.id, grace);
      return { answer: res.data, grace };
    },
    done: (t, { answer, grace }) => onRotated(t, answer, grace),
    doneAfterClose: true,
    gone: 'This token no longer exists: it was deleted.',
  });
}

// What the secret pop-up adds after a rotation about the old secret.
export function graceNote(seconds) {
  if (!seconds) return 'The old token has stopped working.';
  const hours = seconds / 3600;
  return `The old token keeps working for ${hours} hour${hours === 1 ? '' : 's'}.`;
}
