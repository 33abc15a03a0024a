// clbchat: the one-time setup of the first coordinator (POST /api/setup with the token
// from the link's fragment, /setup#token=…). The fragment is removed from the address bar
// at once, so the token is not left in the history.
'use strict';

(function () {
  const I = window.ClbI18n;
  const $ = (id) => document.getElementById(id);

  function tokenFromFragment() {
    const hash = location.hash.replace(/^#/, '');
    const params = new URLSearchParams(hash);
    const token = params.get('token');
    if (location.hash) {
      try {
        history.replaceState(null, '', location.pathname + location.search);
      } catch (e) {
        // the address bar keeps it; harmless
      }
    }
    return token;
  }

  function fail(key, vars) {
    I.set($('setup-error'), key, vars);
  }

  async function submit(ev) {
    ev.preventDefault();
    I.clear($('setup-error'));
    const token = $('setup-token').value.trim();
    const username = $('setup-username').value.trim();
    const alias = $('setup-alias').value.trim();
    const password = $('setup-password').value;
    const again = $('setup-password-confirm').value;
    if (!token) return fail('u.need_token');
    if (!username) return fail('u.need_username');
    if (!alias) return fail('u.need_alias');
    if (Array.from(password).length < 10) return fail('u.short_password');
    if (password !== again) return fail('u.mismatch');
    const button = $('setup-submit');
    button.disabled = true;
    let response;
    try {
      response = await fetch('/api/setup', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ token, username, alias, password }),
        cache: 'no-store',
        credentials: 'same-origin',
      });
    } catch (e) {
      button.disabled = false;
      return fail('u.network');
    }
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    button.disabled = false;
    if (response.status === 201 || response.ok) {
      $('setup-password').value = '';
      $('setup-password-confirm').value = '';
      $('setup-token').value = '';
      $('setup-view').hidden = true;
      $('setup-done').hidden = false;
      I.set($('setup-done-text'), 'u.done', { user: (body && body.username) || username });
      $('done-title').focus();
      return undefined;
    }
    const error = body && body.error;
    const el = $('setup-error');
    if (error && error.message) {
      el.removeAttribute('data-i18n');
      el.textContent = error.message;
    } else {
      fail('u.failed', { status: response.status });
    }
    return undefined;
  }

  function boot() {
    I.init();
    const token = tokenFromFragment();
    if (token) $('setup-token').value = token;
    else $('setup-no-token').hidden = false;
    $('setup-form').addEventListener('submit', submit);
    $('done-title').setAttribute('tabindex', '-1');
  }

  boot();
})();
