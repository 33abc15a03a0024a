// clbchat: the counsellor's page. Log in, go online with the end of the shift, pause and
// resume, see the queue, answer chats (staff.js does the chats themselves).
'use strict';

(function () {
  const I = window.ClbI18n;
  const P = window.ClbProto;
  const St = window.ClbStaff;
  const $ = (id) => document.getElementById(id);
  const h = I.h;

  const S = {
    info: null,
    desk: 'clbchat',
    // The account's desks this server hosts, with their names: one, or on one server for
    // the sector the national desk, the counsellor's own centre's box and blended chat
    // ({id, name, byAppointment}).
    desks: [],
    desksReady: null, // resolves when `desks` is known
    online: false,
    shiftEnd: null,
    // When the desk closes now (from `availability`), or null.
    closesAt: null,
    workspace: null,
    offers: null,
    userId: null,
    pollTimer: null,
    attention: null,
  };

  const session = new St.Session({
    onLoggedIn,
    onLoggedOut,
    onEvent,
    onConnState: St.setConnState,
  });

  const showDesk = St.showDesk;

  function resetWorkspace() {
    $('chat-tabs').textContent = '';
    Array.from($('chat-panes').querySelectorAll('[data-testid="chat-pane"]')).forEach((p) => p.remove());
    $('transfer-offers').textContent = '';
    $('offers-empty').hidden = false;
    $('no-chats').hidden = false;
    S.workspace = new St.Workspace({
      attention: S.attention,
      session,
      info: S.info,
      tabsEl: $('chat-tabs'),
      panesEl: $('chat-panes'),
      emptyEl: $('no-chats'),
      // With several desks, each chat says which one it comes from.
      deskName: (id) => (S.desks.length > 1 ? (S.desks.find((d) => d.id === id) || { name: id }).name : null),
      // Blended chat's clients are known by name: no anonymous self-report line.
      isIdentified: (id) => S.desks.some((d) => d.id === id && d.byAppointment),
      onChange: updateLoad,
      // A registered chat joins the past chats.
      onRegistered: loadPast,
    });
    S.offers = new St.TransferOffers(session, $('transfer-offers'), $('offers-empty'));
  }

  function onLoggedIn(identity, again) {
    const someoneElse = S.userId !== identity.id;
    if (!S.workspace || someoneElse) {
      resetWorkspace();
      S.online = false;
    }
    S.userId = identity.id;
    // A server of centres has no desk of its own: the staff member's (first) desk.
    if (!(S.info && S.info.desk) && identity.desks && identity.desks.length) S.desk = identity.desks[0];
    // Once per person: logging in again (a dropped connection) keeps the desks found.
    if (someoneElse || !S.desksReady) {
      S.desks = [{ id: S.desk, name: '' }];
      S.desksReady = loadDesks(identity);
    }
    showDesk(true);
    $('login-notice').hidden = true;
    I.set($('me'), 's.me', { alias: identity.alias, id: identity.id, role: { key: 'role.' + identity.role } });
    if (again || S.online) restoreDesk();
    else if (S.workspace.chats.size) S.workspace.rejoinAll();
    updateShift();
    updateLoad();
    startPolling();
    loadPast();
    if (!again) $('shift-end').focus();
  }

  // The account's desks that this server hosts (each asked at /api/info, which knows the
  // desks in force); without any, the page's own desk.
  async function loadDesks(identity) {
    const found = await St.desksHere(identity.desks);
    if (found.length) {
      S.desks = found;
      S.desk = found[0].id;
    }
    const names = $('desk-names');
    names.hidden = S.desks.length < 2;
    if (S.desks.length > 1) I.set(names, 'c.desks_several', { names: S.desks.map((d) => d.name).join(', ') });
    showPlannerLink();
  }

  // Appointments are planned on blended chat's own page (their chats come here too). One
  // page at a time holds a login, so the way there shows while offline only.
  function showPlannerLink() {
    $('planner-link').hidden = S.online || !S.desks.some((d) => d.byAppointment);
  }

  // The same request at each of the counsellor's desks (once they are known, so coming
  // back online after a dropped connection reaches every one).
  async function atEachDesk(frame) {
    await S.desksReady;
    for (const d of S.desks) await session.request(Object.assign({}, frame, { desk: d.id }));
  }

  // After logging in again: online again with the same shift, paused if paused, and fetch
  // what was missed in running chats.
  async function restoreDesk() {
    if (S.online && S.shiftEnd) {
      try {
        await atEachDesk({ type: 'online', shift_ends_at: S.shiftEnd.toISOString() });
        if (!$('available-toggle').checked) await atEachDesk({ type: 'available', available: false });
      } catch (err) {
        St.errorInto($('desk-error'), err);
      }
    }
    S.workspace.rejoinAll();
  }

  function onLoggedOut(reasonKey) {
    stopPolling();
    showDesk(false);
    const notice = $('login-notice');
    I.set(notice, reasonKey);
    notice.hidden = false;
    $('password').focus();
  }

  function onEvent(ev) {
    if (S.workspace && S.workspace.onEvent(ev)) return;
    if (ev.event === 'transfer_requested' && S.offers) S.offers.add(ev);
  }

  // ---- shift, online, available -------------------------------------------------------

  async function goOnline() {
    I.clear($('desk-error'));
    const end = St.nextAt($('shift-end').value);
    if (!end) {
      I.set($('desk-error'), 'c.shift_end_invalid');
      $('shift-end').focus();
      return;
    }
    $('go-online').disabled = true;
    try {
      await atEachDesk({ type: 'online', shift_ends_at: end.toISOString() });
      const toggle = $('available-toggle');
      if (S.online && !toggle.checked) await atEachDesk({ type: 'available', available: false });
      else toggle.checked = true;
      S.online = true;
      S.shiftEnd = end;
      toggle.disabled = false;
      $('go-offline').hidden = false;
      I.set($('go-online'), 'c.update_shift');
    } catch (err) {
      St.errorInto($('desk-error'), err);
    } finally {
      $('go-online').disabled = false;
    }
    updateShift();
    // The waiting line depends on who takes chats: say it now, not at the next round.
    pollOnce();
  }

  async function goOffline() {
    I.clear($('desk-error'));
    $('go-offline').disabled = true;
    try {
      await atEachDesk({ type: 'offline' });
      S.online = false;
      $('available-toggle').disabled = true;
      $('go-offline').hidden = true;
      I.set($('go-online'), 'c.go_online');
    } catch (err) {
      St.errorInto($('desk-error'), err);
    } finally {
      $('go-offline').disabled = false;
    }
    updateShift();
    pollOnce();
  }

  async function toggleAvailable() {
    const toggle = $('available-toggle');
    const want = toggle.checked;
    I.clear($('desk-error'));
    toggle.disabled = true;
    try {
      await atEachDesk({ type: 'available', available: want });
    } catch (err) {
      toggle.checked = !want;
      St.errorInto($('desk-error'), err);
    } finally {
      toggle.disabled = !S.online;
    }
    updateShift();
    pollOnce();
  }

  function updateShift() {
    showPlannerLink();
    const el = $('shift-status');
    if (!S.online || !S.shiftEnd) {
      I.set(el, 'c.status_offline');
      return;
    }
    const left = S.shiftEnd.getTime() - Date.now();
    const d = St.durationVars(left);
    const paused = !$('available-toggle').checked;
    // The evening's last shift (it ends when the desk closes, or later) keeps getting chats
    // until the desk stops letting visitors in: the engine applies no half-hour margin then.
    const lastShift = S.closesAt && S.shiftEnd.getTime() >= S.closesAt.getTime();
    if (left <= 0) I.set(el, 'c.shift_over');
    else if (left <= 30 * 60000 && lastShift) I.set(el, 'c.shift_last_of_evening', { at: St.hhmm(S.shiftEnd), h: d.h, m: d.m });
    else if (left <= 30 * 60000) I.set(el, 'c.shift_last_half_hour', { at: St.hhmm(S.shiftEnd), h: d.h, m: d.m });
    else I.set(el, paused ? 'c.shift_paused' : 'c.shift_ends', { at: St.hhmm(S.shiftEnd), h: d.h, m: d.m });
  }

  function updateLoad() {
    const cap = (session.identity && session.identity.capacity) || 1;
    const n = S.workspace ? S.workspace.activeCount() : 0;
    I.set($('chats-load'), 'c.load', { n, cap });
  }

  // ---- the queue ----------------------------------------------------------------------

  function startPolling() {
    stopPolling();
    pollOnce();
    S.pollTimer = setInterval(pollOnce, 5000);
  }

  function stopPolling() {
    if (S.pollTimer) clearInterval(S.pollTimer);
    S.pollTimer = null;
  }

  // The waiting line of one desk's availability: (key, vars).
  function waitingLine(a) {
    const n = a.queue_length || 0;
    if (!a.open) return ['c.waiting_closed', { n }];
    if (a.estimated_wait_minutes === null || a.estimated_wait_minutes === undefined) return ['c.waiting_no_estimate', { n }];
    if (a.estimated_wait_minutes <= 1) return ['c.waiting_now', { n }];
    return ['c.waiting', { n, m: a.estimated_wait_minutes }];
  }

  function pollOnce() {
    if (!session.connected) return;
    // Planned chats have no waiting line: only the desks with a queue.
    const queued = S.desks.filter((d) => !d.byAppointment);
    const desks = queued.length ? queued : [{ id: S.desk, name: '' }];
    Promise.all(desks.map((d) => session.request({ type: 'availability', desk: d.id }))).then(
      (answers) => {
        const el = $('waiting-count');
        const all = answers.map((answer) => answer.availability || {});
        // When the desk closes (the first with a closing time): whether a shift is the
        // evening's last (see updateShift).
        const closing = all.find((a) => a.closes_at);
        S.closesAt = closing ? new Date(closing.closes_at) : null;
        el.setAttribute('data-count', String(all.reduce((sum, a) => sum + (a.queue_length || 0), 0)));
        if (all.length === 1) {
          const [key, vars] = waitingLine(all[0]);
          I.set(el, key, vars);
          return;
        }
        // Several desks: one line each, with its name.
        el.removeAttribute('data-i18n');
        el.removeAttribute('data-i18n-vars');
        el.textContent = all
          .map((a, i) => {
            const [key, vars] = waitingLine(a);
            return desks[i].name + ': ' + I.t(key, vars);
          })
          .join(' ');
      },
      () => {
        // the next poll tries again
      }
    );
  }

  // ---- boot ---------------------------------------------------------------------------

  async function logout() {
    if (S.online) {
      try {
        await atEachDesk({ type: 'offline' });
      } catch (err) {
        // logging out anyway
      }
    }
    session.logout();
    location.reload();
  }

  // ---- past chats: feedback asked and read, erasure on request ----------------------------

  async function loadPast() {
    const status = $('past-status');
    try {
      const answer = await session.request({ type: 'my_chats' });
      renderPast(answer.chats || []);
    } catch (e) {
      St.errorInto(status, e);
    }
  }

  function renderPast(chats) {
    const list = $('past-list');
    list.textContent = '';
    if (!chats.length) I.set($('past-status'), 'c.past_none', { days: (S.info && S.info.retention_days) || 30 });
    else if (chats.length === 1) I.set($('past-status'), 'c.past_count_one');
    else I.set($('past-status'), 'c.past_count', { n: chats.length });
    chats.forEach((c) => list.appendChild(pastItem(c)));
  }

  // One past chat: when and how long, its feedback, and what the counsellor can do with it.
  function pastItem(c) {
    const fb = c.feedback || null;
    const minutes = c.started_at && c.ended_at ? Math.round((Date.parse(c.ended_at) - Date.parse(c.started_at)) / 60000) : '?';
    const when = { sdt: c.started_at || c.ended_at };
    const deskName = S.desks.length > 1 ? (S.desks.find((d) => d.id === c.desk) || { name: c.desk }).name : null;
    const head = deskName
      ? h('p', { class: 'flag-title', i18n: 'c.past_chat_desk', vars: { when, n: minutes, desk: deskName } })
      : h('p', { class: 'flag-title', i18n: 'c.past_chat', vars: { when, n: minutes } });
    const about = h('div', { testid: 'past-feedback' });
    if (fb && fb.text) {
      about.append(
        h('p', { i18n: 'c.past_feedback_from', vars: { who: fb.written_by, when: { sdt: fb.written_at } } }),
        h('blockquote', { class: 'summary', text: fb.text })
      );
    } else if (fb && fb.asked_at) {
      about.append(h('p', { class: 'muted', i18n: 'c.past_asked', vars: { when: { sdt: fb.asked_at } } }));
    }
    if (fb && fb.question) about.append(h('p', { class: 'muted', i18n: 'c.past_question', vars: { q: fb.question } }));

    const status = h('p', { class: 'notice', role: 'status', testid: 'past-item-status' });
    const log = h('div', { class: 'chat-log', role: 'log', tabindex: '0', hidden: true, testid: 'past-log' });

    // Ask for feedback: an optional question, sent or cancelled.
    const qId = I.id('past-question');
    const question = h('textarea', { id: qId, rows: '3', maxlength: '1000', testid: 'past-question' });
    if (fb && fb.question) question.value = fb.question;
    const askForm = h(
      'form',
      { class: 'form', hidden: true, testid: 'past-ask-form' },
      h('div', { class: 'field' }, h('label', { for: qId, i18n: 'c.ask_label' }), question),
      h(
        'div',
        { class: 'btn-row' },
        h('button', { type: 'submit', class: 'btn btn-primary', testid: 'past-ask-send', i18n: 'c.ask_send' }),
        h('button', { type: 'button', class: 'btn', i18n: 'c.cancel', onclick: () => { askForm.hidden = true; askBtn.focus(); } })
      )
    );
    askForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const send = askForm.querySelector('[type=submit]');
      send.disabled = true;
      try {
        const frame = { type: 'ask_feedback', conversation: c.conversation };
        if (question.value.trim()) frame.question = question.value.trim();
        await session.request(frame);
        await loadPast();
        const again = document.querySelector('[data-testid="past-chat"][data-conversation="' + c.conversation + '"] [data-testid="past-item-status"]');
        if (again) I.set(again, 'c.ask_sent');
      } catch (e) {
        St.errorInto(status, e);
        send.disabled = false;
      }
    });
    const askBtn = h('button', {
      type: 'button',
      class: 'btn btn-small',
      testid: 'past-ask',
      i18n: fb && fb.asked_at ? 'c.past_ask_again' : 'c.past_ask',
      onclick: () => {
        askForm.hidden = false;
        question.focus();
      },
    });
    // Feedback already written needs no asking.
    if (fb && fb.text) askBtn.hidden = true;

    // Read the chat again (audited as a read for feedback).
    const readBtn = h('button', {
      type: 'button',
      class: 'btn btn-small',
      testid: 'past-read',
      i18n: 'c.past_read',
      onclick: async () => {
        if (!log.hidden) {
          log.hidden = true;
          log.textContent = '';
          I.set(readBtn, 'c.past_read');
          return;
        }
        try {
          const answer = await session.request({ type: 'transcript', conversation: c.conversation, purpose: 'feedback' });
          log.textContent = '';
          (answer.events || []).forEach((e) => St.insertEntry(log, St.renderEntry(e, { isMine: (ev) => ev.from === 'counsellor' }), e.seq));
          log.hidden = false;
          I.set(readBtn, 'c.past_hide');
          log.focus();
        } catch (e) {
          St.errorInto(status, e);
        }
      },
    });

    // Erase at the young person's request: said plainly, confirmed, done.
    const confirmBox = h(
      'div',
      { class: 'confirm', hidden: true, testid: 'past-erase-confirm', role: 'group' },
      h('p', { i18n: 'c.erase_warning' }),
      h(
        'div',
        { class: 'btn-row' },
        h('button', {
          type: 'button',
          class: 'btn btn-danger',
          testid: 'past-erase-yes',
          i18n: 'c.erase_confirm',
          onclick: async (ev) => {
            ev.currentTarget.disabled = true;
            try {
              await session.request({ type: 'erase_on_request', conversation: c.conversation });
              await loadPast();
              I.set($('past-status'), 'c.erased');
              $('past-status').focus();
            } catch (e) {
              St.errorInto(status, e);
              ev.currentTarget.disabled = false;
            }
          },
        }),
        h('button', { type: 'button', class: 'btn', i18n: 'c.cancel', onclick: () => { confirmBox.hidden = true; eraseBtn.focus(); } })
      )
    );
    const eraseBtn = h('button', {
      type: 'button',
      class: 'btn btn-small btn-danger-quiet',
      testid: 'past-erase',
      i18n: 'c.past_erase',
      onclick: () => {
        confirmBox.hidden = false;
        confirmBox.querySelector('button').focus();
      },
    });
    // Blended chat's client files are erased as a whole, not from here.
    if (S.desks.some((d) => d.id === c.desk && d.byAppointment)) eraseBtn.hidden = true;

    return h(
      'li',
      { class: 'flag', testid: 'past-chat', 'data-conversation': c.conversation },
      head,
      about,
      h('div', { class: 'btn-row' }, askBtn, readBtn, eraseBtn),
      askForm,
      confirmBox,
      status,
      log
    );
  }

  async function boot() {
    I.init();
    S.attention = window.ClbAttention.create({ titleKey: 'c.title' });
    $('desk-attention').append(S.attention.soundButton('sound-toggle'), S.attention.notifyButton('ask-notify'));
    const later = new Date(Date.now() + 3 * 3600000);
    $('shift-end').value = St.hhmm(later);
    try {
      S.info = await P.info();
      S.desk = (S.info.desk && S.info.desk.id) || S.desk;
    } catch (err) {
      I.set($('login-error'), 's.info_failed');
    }
    St.wireLogin(session);
    $('go-online').addEventListener('click', goOnline);
    $('go-offline').addEventListener('click', goOffline);
    $('available-toggle').addEventListener('change', toggleAvailable);
    $('logout').addEventListener('click', logout);
    $('past-refresh').addEventListener('click', loadPast);
    setInterval(updateShift, 30000);
    I.onChange(() => {
      updateShift();
      updateLoad();
    });
    updateShift();
  }

  boot();
})();
