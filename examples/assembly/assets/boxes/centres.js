// chat-met-je-clb: the list of centres (GET /api/centres) with whether each box is open,
// and the translations of the page that says a centre is unknown.
'use strict';

(function () {
  const I = window.ClbI18n;
  const $ = (id) => document.getElementById(id);

  async function load() {
    const list = $('centres');
    if (!list) return;
    const state = $('centres-state');
    try {
      const r = await fetch('/api/centres', { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const body = await r.json();
      I.clear(list);
      (body.centres || []).forEach((c) => {
        list.appendChild(
          I.h(
            'li',
            { testid: 'centre', 'data-id': c.id, class: c.open ? 'is-open' : '' },
            I.h('a', { href: c.url, text: c.name }),
            ' ',
            I.h('span', { class: c.open ? 'badge badge-open' : 'badge', i18n: c.open ? 'cm.open' : 'cm.closed' })
          )
        );
      });
      if ((body.centres || []).length === 0) I.set(state, 'cm.none');
      else state.hidden = true;
    } catch (e) {
      I.set(state, 'cm.failed');
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    I.init();
    load();
  });
})();
