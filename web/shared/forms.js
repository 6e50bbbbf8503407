// forms.js - the token form both consoles use (their labels differ, the
// rules do not): name, description, expiry, scopes and allowed addresses;
// counters in code points; the resulting expiry shown before saving; the
// API's field errors beside the fields they name.

import {
  CUSTOM,
  DEFAULT_PRESET,
  PRESETS,
  customRange,
  endOfDay,
  formatDate,
  formatLong,
  formatRelative,
  now,
  presetEnd,
  withOffset,
  withinLimit,
} from './time.js';
import { codePoints, limits, trimApi } from './text.js';
import { scopePicker } from './scopes.js';

const KEEP = 'keep';
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function parseDay(s) {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) ? s : null;
}

// The addresses typed, one or more a line (commas and spaces also part
// them), each with its line so that the server's /allowed_ips/N can say where.
function parseIps(text) {
  const list = [];
  const lines = [];
  text.split('\n').forEach((line, i) => {
    for (const a of line.split(/[\s,]+/)) {
      if (!a) continue;
      list.push(a);
      lines.push(i + 1);
    }
  });
  return { list, lines };
}

const same = (a, b) => a.join('\n') === b.join('\n');

// form: the <form>; its fields are found by name (name, description, expiry,
// date, allowed_ips; the scopes as scopes.js says) and their messages by id:
// `${field.id}-error`, `${field.id}-count`.
// opts.maxDays() gives the server's limit; opts.summary is the element that
// shows the resulting expiry; opts.customField wraps the date input.
export function tokenForm(form, opts) {
  const f = form.elements;
  const name = f.namedItem('name');
  const description = f.namedItem('description');
  const expiry = f.namedItem('expiry');
  const date = f.namedItem('date');
  const ips = f.namedItem('allowed_ips');
  const scopes = scopePicker(form);
  const formError = form.querySelector('[data-form-error]');
  let current = null; // the token being edited, or null when creating
  let sent = null; // what the last request sent, to place the server's /scopes/N and /allowed_ips/N
  let timer = 0;

  function setFormError(message) {
    formError.replaceChildren();
    formError.hidden = !message;
    if (message) formError.append(message);
  }

  function clearErrors() {
    for (const input of [name, description, expiry, date, ips]) setFieldError(input, '');
    scopes.clear();
    setFormError('');
  }

  function count(input, max) {
    const el = document.getElementById(`${input.id}-count`);
    const n = codePoints(trimApi(input.value));
    el.textContent = `${n}/${max}`;
    el.classList.toggle('over', n > max);
  }

  function buildOptions() {
    const maxDays = opts.maxDays();
    const options = [];
    if (current) {
      options.push(new Option(`Keep current (${formatDate(new Date(current.expires_at))})`, KEEP));
    }
    for (const p of PRESETS) {
      const o = new Option(p.label, p.value);
      if (!withinLimit(presetEnd(p.value), maxDays)) {
        o.disabled = true;
        o.textContent = `${p.label} (longer than this server allows)`;
      }
      options.push(o);
    }
    const range = customRange(maxDays);
    const custom = new Option('Custom date', CUSTOM);
    custom.disabled = range.min > range.max;
    options.push(custom);
    expiry.replaceChildren(...options);
    const preferred = current ? KEEP : DEFAULT_PRESET;
    const fallback = options.find((o) => !o.disabled);
    expiry.value = options.some((o) => o.value === preferred && !o.disabled)
      ? preferred
      : fallback?.value || '';
    date.min = range.min;
    date.max = range.max;
    const hint = document.getElementById(`${date.id}-hint`);
    if (hint) {
      hint.textContent =
        range.max === '9999-12-31'
          ? `From ${formatDate(endOfDay(range.min))}.`
          : `From ${formatDate(endOfDay(range.min))} to ${formatDate(endOfDay(range.max))}.`;
    }
  }

  // {expires_at} to send, {keep: true}, or {error, field} to show.
  function expiryValue() {
    const choice = expiry.value;
    const maxDays = opts.maxDays();
    if (choice === KEEP) return { keep: true };
    if (choice !== CUSTOM) {
      const end = presetEnd(choice);
      if (!end || !withinLimit(end, maxDays))
        return { error: 'Choose an expiry that this server allows.', field: expiry };
      return { end, expires_at: iso(end) };
    }
    const day = parseDay(date.value);
    const { min, max } = customRange(maxDays);
    if (!day) return { error: 'Choose a date.', field: date };
    if (day < min || day > max) {
      const range =
        max === '9999-12-31'
          ? `a date from ${formatDate(endOfDay(min))}`
          : `a date from ${formatDate(endOfDay(min))} to ${formatDate(endOfDay(max))}`;
      return { error: `Choose ${range}.`, field: date };
    }
    const end = endOfDay(day);
    return { end, expires_at: withOffset(end) };
  }

  function showSummary() {
    opts.customField.hidden = expiry.value !== CUSTOM;
    const v = expiryValue();
    const text = opts.summary.querySelector('[data-text]');
    if (v.keep) {
      text.textContent = `Keeps its expiry: ${formatLong(new Date(current.expires_at))}.`;
    } else if (v.end) {
      text.textContent = `Expires on ${formatLong(v.end)} (${formatRelative(iso(v.end))}).`;
    } else if (expiry.value === CUSTOM && !date.value) {
      text.textContent = 'Choose a date: the token lasts until the end of that day, your time.';
    } else {
      text.textContent = v.error;
    }
  }

  name.addEventListener('input', () => {
    count(name, limits.name);
    setFieldError(name, '');
  });
  description.addEventListener('input', () => {
    count(description, limits.description);
    setFieldError(description, '');
  });
  expiry.addEventListener('change', () => {
    setFieldError(expiry, '');
    setFieldError(date, '');
    showSummary();
  });
  date.addEventListener('input', () => {
    setFieldError(date, '');
    showSummary();
  });
  ips.addEventListener('input', () => setFieldError(ips, ''));

  function validate() {
    const problems = [];
    const n = trimApi(name.value);
    const nLen = codePoints(n);
    if (nLen === 0) problems.push([name, 'Enter a name.']);
    else if (nLen > limits.name)
      problems.push([name, `Use at most ${limits.name} characters (this has ${nLen}).`]);
    const dLen = codePoints(trimApi(description.value));
    if (dLen > limits.description)
      problems.push([description, `Use at most ${limits.description} characters (this has ${dLen}).`]);
    const v = expiryValue();
    if (v.error) problems.push([v.field, v.error]);
    const sc = scopes.value();
    if (sc.error) problems.push([sc.field, sc.error, () => scopes.showError(sc.error)]);
    return { problems, expiry: v, scopes: sc.scopes, ips: parseIps(ips.value) };
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (form.dataset.busy) return;
    clearErrors();
    const { problems, expiry: v, scopes: sc, ips: ipList } = validate();
    if (problems.length) {
      for (const [input, msg, show] of problems) (show || (() => setFieldError(input, msg)))();
      problems[0][0].focus();
      return;
    }
    const body = {};
    const n = trimApi(name.value);
    const d = trimApi(description.value);
    if (!current || n !== current.name) body.name = n;
    if (!current || d !== current.description) body.description = d;
    if (!v.keep) body.expires_at = v.expires_at;
    // A create without scopes is Global: the same request as before scopes.
    if (current ? !same(sc, [...(current.scopes || ['global'])].sort()) : sc.join() !== 'global')
      body.scopes = sc;
    if (current ? !same(ipList.list, current.allowed_ips || []) : ipList.list.length) body.allowed_ips = ipList.list;
    sent = { scopes: body.scopes, lines: ipList.lines };
    if (current && Object.keys(body).length === 0) {
      opts.onUnchanged?.();
      return;
    }
    const submit = opts.submitButton;
    form.dataset.busy = '1';
    submit.setAttribute('aria-busy', 'true');
    submit.disabled = true;
    try {
      await opts.onSubmit(body, current);
    } catch (err) {
      showApiError(err);
    } finally {
      delete form.dataset.busy;
      submit.removeAttribute('aria-busy');
      submit.disabled = false;
    }
  });

  function showApiError(err) {
    const map = {
      name,
      description,
      expires_at: expiry.value === CUSTOM ? date : expiry,
    };
    let first = null;
    for (const [field, msg] of Object.entries(err.fields || {})) {
      const [key, n] = field.split('/');
      let input = map[field];
      if (key === 'scopes') input = scopes.showError(sentence(msg), sent?.scopes, n);
      else if (key === 'allowed_ips') {
        input = ips;
        const line = n === undefined ? 0 : sent?.lines[Number(n)];
        setFieldError(ips, line ? `Line ${line}: ${sentence(msg)}` : sentence(msg));
      } else if (input) setFieldError(input, sentence(msg));
      if (input) first ??= input;
    }
    // The server refused a scope this session cannot give, with no pointer.
    if (!first && err.code === 'insufficient_scope') first = scopes.showError(sentence(err.message));
    if (first) first.focus();
    else if (err.status !== 401) setFormError(sentence(err.message));
  }

  return {
    // Empties the form for a new token, or fills it with `token` to edit it.
    reset(token = null) {
      current = token;
      form.reset();
      name.value = token ? token.name : '';
      description.value = token ? token.description : '';
      date.value = '';
      ips.value = token ? (token.allowed_ips || []).join('\n') : '';
      scopes.reset(token);
      clearErrors();
      buildOptions();
      count(name, limits.name);
      count(description, limits.description);
      showSummary();
      clearInterval(timer);
      // The presets count from now: keep the date shown in step with it.
      timer = setInterval(() => form.isConnected && showSummary(), 30000);
    },
    stop() {
      clearInterval(timer);
    },
  };
}

// Shows `message` beside `input`, in the element `${input.id}-error`, and
// marks the field invalid; an empty message clears both.
export function setFieldError(input, message) {
  const el = document.getElementById(`${input.id}-error`);
  el.textContent = message;
  el.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

// The API's details are lower-case phrases; shown to people, they start with
// a capital and end with a full stop.
export function sentence(s) {
  const t = String(s || '').trim();
  if (!t) return '';
  const c = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(c) ? c : `${c}.`;
}
