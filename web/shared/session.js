// session.js - what both consoles do around the session: the views, the
// login form with its field errors, the account menu, logging out, the
// session lost on the way, and the first start. The pages differ only in
// their texts and in what they reset or route to, given in `opts`.

import * as api from './api.js';
import { sentence, setFieldError } from './forms.js';
import { setLimits } from './text.js';
import { setServerTime } from './time.js';
import { disclosure } from './ui.js';

export const $ = (id) => document.getElementById(id);

// opts: title (of the console), views (ids without `view-`), wrongPassword
// (the login error for a 401), busyLabel (the submit button's text while
// logging in, if it changes), onShow(view, title, ...more) after a view is
// shown, onUser(user) once the user is known, onLogin() to clear the page
// before the login form shows, route({focus}) to show the page the address
// names.
export function session(opts) {
  const s = { user: null, maxDays: 366 };

  s.show = (view, title, ...more) => {
    for (const v of opts.views) $(`view-${v}`).hidden = v !== view;
    $('account').hidden = !s.user;
    document.title = title ? `${title} · ${opts.title}` : opts.title;
    opts.onShow?.(view, title, ...more);
  };

  async function enter() {
    const [meRes, cfg] = await Promise.all([api.me(), api.config()]);
    setServerTime(cfg.data.now);
    s.maxDays = cfg.data.max_lifetime_days;
    setLimits(cfg.data);
    s.user = meRes.data;
    $('account-email').textContent = s.user.email;
    $('home-email').textContent = s.user.email;
    opts.onUser?.(s.user);
  }

  s.showLogin = (notice) => {
    s.user = null;
    opts.onLogin?.();
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    $('login-form').reset();
    $('login-error').hidden = true;
    $('login-notice').hidden = !notice;
    $('login-notice').textContent = notice || '';
    s.show('login', 'Log in');
    $('login-email').focus();
  };

  api.whenSessionLost(() => {
    if (s.user) s.showLogin('Your session has ended. Log in again to go on.');
  });

  const submit = $('login-submit');
  const idleLabel = submit.textContent;
  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const email = $('login-email');
    const password = $('login-password');
    const error = $('login-error');
    error.hidden = true;
    $('login-notice').hidden = true;
    setFieldError(email, email.value.trim() ? '' : 'Enter your email.');
    setFieldError(password, password.value ? '' : 'Enter your password.');
    if (!email.value.trim() || !password.value) {
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    if (opts.busyLabel) submit.textContent = opts.busyLabel;
    try {
      await api.login(email.value.trim(), password.value);
      await enter();
      password.value = '';
      opts.route();
    } catch (err) {
      error.textContent = err.status === 401 ? opts.wrongPassword : sentence(err.message);
      error.hidden = false;
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
      if (opts.busyLabel) submit.textContent = idleLabel;
    }
  });

  disclosure($('account-button'), $('account-menu'));

  $('logout').addEventListener('click', async () => {
    try {
      await api.logout();
    } catch {
      /* the session is gone either way */
    }
    s.showLogin('You have logged out.');
  });

  window.addEventListener('hashchange', () => opts.route());

  // The first view: the login form, or the page the address names when the
  // session is still good.
  s.start = async () => {
    if (!api.hasSessionHint()) {
      s.showLogin();
      return;
    }
    try {
      await enter();
      opts.route({ focus: false });
    } catch {
      s.showLogin();
    }
  };

  return s;
}
