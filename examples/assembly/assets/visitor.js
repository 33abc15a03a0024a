// clbchat: the students' and parents' chat page.
//
// Views: loading → closed | start → waiting → chat → rating. The chat survives a dropped
// connection (resume with the last seq) and a page reload (resume from 0, the log is
// replayed). Nothing typed here is written to the console or to lasting storage: the
// visitor token is the only thing kept in localStorage, the chat's resume data lives in
// sessionStorage, and the quick exit clears both.
'use strict';

(function () {
  const I = window.ClbI18n;
  const P = window.ClbProto;
  const t = I.t;
  const $ = (id) => document.getElementById(id);

  // The desk this page is for: a centre's chatbox says so on its html element; empty
  // (or an unfilled mark) means the service's own desk.
  const PAGE_DESK = (function () {
    const d = document.documentElement.getAttribute('data-desk') || '';
    return /^[a-z0-9-]+$/.test(d) ? d : '';
  })();
  const TOKEN_KEY = 'clbchat.visitor_token';
  // One chat per desk: two centres' boxes on one server keep their chats apart.
  const SESSION_KEY = PAGE_DESK ? 'clbchat.session.' + PAGE_DESK : 'clbchat.session';
  const DEFAULT_EXIT = 'https://www.google.be';
  const TYPING_EVERY_MS = 3000;
  const TYPING_SHOWN_MS = 6000;
  const VIEWS = ['view-loading', 'view-closed', 'view-start', 'view-waiting', 'view-chat', 'view-rating'];

  const S = {
    info: null,
    desk: 'clbchat',
    maxChars: 4000,
    exitUrl: DEFAULT_EXIT,
    conn: null,
    phase: 'loading',
    conversation: null,
    resumeToken: null,
    lastSeq: 0,
    seen: new Set(),
    pending: new Map(), // message id -> {text, el}
    joined: false,
    alias: null,
    ended: false,
    replaced: false,
    exiting: false, // the quick exit was used: write nothing any more
    attempt: 0,
    reconnectTimer: null,
    attention: null,
    replayUntil: 0, // entries before this moment are a reload's replay: no signal
    pollTimer: null,
    typingTimer: null,
    lastTypingSent: 0,
    lastEscape: 0,
    stars: 0,
  };

  // ---- storage ------------------------------------------------------------------------

  function saveSession() {
    // After a quick exit nothing may be written again, whatever still arrives.
    if (!S.conversation || S.exiting) return;
    try {
      sessionStorage.setItem(
        SESSION_KEY,
        JSON.stringify({
          conversation: S.conversation,
          resume_token: S.resumeToken,
          last_seq: S.lastSeq,
          phase: S.phase === 'chat' ? 'chat' : 'waiting',
          joined: S.joined,
          ended: S.ended,
        })
      );
    } catch (e) {
      // private mode: the chat still works, only a reload loses it
    }
  }

  function loadSession() {
    try {
      const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      if (s && typeof s.conversation === 'string' && typeof s.resume_token === 'string') return s;
    } catch (e) {
      // ignore a damaged entry
    }
    return null;
  }

  function dropSession() {
    try {
      sessionStorage.removeItem(SESSION_KEY);
    } catch (e) {
      // nothing to drop
    }
  }

  function visitorToken() {
    try {
      const v = localStorage.getItem(TOKEN_KEY);
      if (v && /^[A-Za-z0-9_-]{22,128}$/.test(v)) return v;
    } catch (e) {
      // no storage, no token
    }
    return null;
  }

  function keepVisitorToken(v) {
    if (!v || S.exiting) return;
    try {
      localStorage.setItem(TOKEN_KEY, v);
    } catch (e) {
      // not kept: the next visit counts as a first one
    }
  }

  function forgetVisitorToken() {
    try {
      localStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // nothing kept
    }
  }

  // ---- views --------------------------------------------------------------------------

  function show(...ids) {
    VIEWS.forEach((v) => {
      $(v).hidden = !ids.includes(v);
    });
  }

  function setConn(state) {
    const el = $('connection-state');
    el.setAttribute('data-state', state);
    const keys = {
      reconnecting: 'v.conn_reconnecting',
      connecting: 'v.conn_connecting',
      replaced: 'v.conn_replaced',
      offline: 'v.conn_lost',
    };
    if (keys[state]) I.set(el, keys[state]);
    else I.clear(el);
    $('take-back') && ($('take-back').hidden = state !== 'replaced');
  }

  function stopPolling() {
    if (S.pollTimer) clearTimeout(S.pollTimer);
    S.pollTimer = null;
  }

  function poll(ms) {
    stopPolling();
    S.pollTimer = setTimeout(checkAvailability, ms);
  }

  function showLoadingError(err) {
    show('view-loading');
    I.set($('loading-error'), 'v.load_failed');
    $('loading-retry').hidden = false;
    void err;
  }

  function showClosed(nextOpening, reasonKey) {
    S.phase = 'closed';
    show('view-closed');
    if (nextOpening) I.set($('next-opening'), 'v.next_opening', { when: { dt: nextOpening } });
    else I.set($('next-opening'), 'v.next_opening_unknown');
    const reason = $('closed-reason');
    if (reasonKey) {
      I.set(reason, reasonKey);
      reason.hidden = false;
    } else {
      reason.hidden = true;
    }
    poll(60000);
  }

  function showStart(av) {
    S.phase = 'start';
    show('view-start');
    const box = $('start-availability');
    box.textContent = '';
    const n = av.queue_length || 0;
    // The event the box is open for: its title and the centre's welcome, as written.
    const ev = av.event;
    $('start-event').hidden = !ev;
    $('event-title').textContent = ev ? ev.title : '';
    $('event-welcome').textContent = ev && ev.welcome ? ev.welcome : '';
    $('event-welcome').hidden = !(ev && ev.welcome);
    box.append(
      I.h('span', { i18n: av.closes_at ? 'v.avail_open_until' : 'v.avail_open', vars: { until: { time: av.closes_at } } }),
      ' ',
      I.h('span', { i18n: n === 0 ? 'v.avail_nobody' : n === 1 ? 'v.avail_waiting_one' : 'v.avail_waiting', vars: { n } }),
      ' ',
      I.h('span', { testid: 'start-wait', i18n: waitKey(av.estimated_wait_minutes), vars: { m: av.estimated_wait_minutes } })
    );
    poll(30000);
  }

  // One line per day with hours, in week order.
  function weeklyLines(list, weekly) {
    const order = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    const sorted = (weekly || []).slice().sort((a, b) => order.indexOf(a.day) - order.indexOf(b.day) || String(a.open).localeCompare(String(b.open)));
    sorted.forEach((w) => {
      const to = w.close === '00:00' || w.close === '24:00' ? '24:00' : w.close;
      list.appendChild(I.h('li', { i18n: 'v.hours_day', vars: { day: { key: 'day.' + w.day }, from: w.open, to } }));
    });
  }

  // A closed centre's box sends its visitors to the national desk, with its hours.
  function renderNational(nd) {
    const box = $('closed-national');
    const end = $('end-national');
    box.hidden = !nd;
    end.hidden = !nd;
    if (!nd) return;
    I.set($('national-intro'), 'v.national_intro', { name: nd.name });
    const list = $('national-hours');
    list.textContent = '';
    weeklyLines(list, nd.hours);
    const link = $('national-link');
    link.href = safeUrl(nd.url) || '#';
    I.set(link, 'v.national_go', { name: nd.name });
    end.textContent = '';
    end.append(
      I.h('span', { i18n: 'v.end_national', vars: { name: nd.name } }),
      ' ',
      I.h('a', { href: safeUrl(nd.url) || '#', rel: 'noopener', target: '_blank', text: nd.name })
    );
  }

  // "When are we open", from the calendar in force: one line per day with hours, in
  // week order, with a word on holidays.
  function renderHours(hours) {
    const list = $('hours');
    list.textContent = '';
    if (!hours) return;
    if (hours.always_open) {
      list.appendChild(I.h('li', { i18n: 'v.hours_always' }));
      return;
    }
    if (hours.events_only) {
      list.appendChild(I.h('li', { i18n: 'v.hours_events' }));
      return;
    }
    weeklyLines(list, hours.weekly);
    if (hours.other_hours_in_holidays) list.appendChild(I.h('li', { class: 'muted', i18n: 'v.hours_holidays' }));
    if (hours.closed_on_holidays) list.appendChild(I.h('li', { class: 'muted', i18n: 'v.hours_closures' }));
  }

  // One wording of waits everywhere, from the engine's estimate in minutes (null: nobody
  // can take a chat now). "Next in line" and "about 17 minutes" say the same thing: the
  // counsellors are all in a chat, and one frees up in about that long.
  function waitKey(m) {
    if (m === null || m === undefined) return 'w.unknown';
    if (m <= 1) return 'w.now';
    return 'w.minutes';
  }

  async function checkAvailability() {
    stopPolling();
    if (S.phase !== 'loading' && S.phase !== 'closed' && S.phase !== 'start') return;
    let answer;
    try {
      answer = await P.ask({ type: 'availability', desk: S.desk });
    } catch (err) {
      if (S.phase === 'loading') showLoadingError(err);
      else poll(30000);
      return;
    }
    if (S.phase !== 'loading' && S.phase !== 'closed' && S.phase !== 'start') return;
    const av = answer.availability || {};
    if (av.open) {
      showStart(av);
    } else {
      showClosed(av.next_opening, S.phase === 'closed' ? currentClosedReason() : null);
    }
  }

  function currentClosedReason() {
    const r = $('closed-reason');
    return r.hidden ? null : r.getAttribute('data-i18n');
  }

  // ---- starting -----------------------------------------------------------------------

  function profileFromForm() {
    const form = $('start-form');
    const profile = { health_question: $('health-question').checked };
    const type = form.querySelector('input[name="client_type"]:checked');
    if (type) profile.client_type = type.value;
    const nick = $('nickname').value.trim();
    if (nick) profile.nickname = nick;
    const ageText = $('age').value.trim();
    if (ageText) {
      const age = Number(ageText);
      if (!Number.isInteger(age) || age < 6 || age > 99) return { error: 'v.age_invalid' };
      profile.age = age;
    }
    const gender = $('gender').value;
    if (gender) profile.gender = gender;
    return { profile };
  }

  function updateProfileLabels() {
    const parent = $('client-parent').checked;
    I.set($('age-label'), parent ? 'v.age_child' : 'v.age');
    I.set($('gender-label'), parent ? 'v.gender_child' : 'v.gender');
  }

  // Events and closes of a connection that is no longer the page's are ignored.
  function newConnection() {
    const conn = new P.Connection({
      onEvent: (ev) => {
        if (!S.conn || S.conn === conn) onEvent(ev);
      },
      onClose: (info) => {
        if (!S.conn || S.conn === conn) onClose(info);
      },
    });
    return conn;
  }

  async function start(ev) {
    ev.preventDefault();
    const errEl = $('start-error');
    I.clear(errEl);
    const { profile, error } = profileFromForm();
    if (error) {
      I.set(errEl, error);
      $('age').focus();
      return;
    }
    const button = $('start');
    button.disabled = true;
    stopPolling();
    const conn = newConnection();
    try {
      await conn.connect();
    } catch (err) {
      button.disabled = false;
      I.set(errEl, 'v.connect_failed');
      poll(30000);
      return;
    }
    let welcome;
    try {
      const token = visitorToken();
      const arrive = (t) => conn.request({ type: 'arrive', desk: S.desk, visitor_token: t, profile, appointment: null });
      welcome = await arrive(token).catch((err) => {
        // A kept token the server no longer accepts: forget it and arrive as new.
        if (err.code !== 'invalid' || !token || !/token/i.test(err.message || '')) throw err;
        forgetVisitorToken();
        return arrive(null);
      });
    } catch (err) {
      conn.close();
      button.disabled = false;
      arriveRefused(err);
      return;
    }
    button.disabled = false;
    S.conn = conn;
    keepVisitorToken(welcome.visitor_token);
    S.conversation = welcome.conversation;
    S.resumeToken = welcome.resume_token;
    S.lastSeq = 0;
    S.seen.clear();
    S.ended = false;
    S.joined = false;
    S.replaced = false;
    showWaiting();
    saveSession();
  }

  function arriveRefused(err) {
    const errEl = $('start-error');
    if (err.code === 'closed' || err.code === 'not_admitted_before_closing') {
      S.phase = 'closed';
      const reason = err.code === 'closed' ? 'v.closed_now' : 'v.closed_soon';
      P.ask({ type: 'availability', desk: S.desk })
        .then((a) => showClosed(a.availability && a.availability.next_opening, reason))
        .catch(() => showClosed(null, reason));
      return;
    }
    if (err.code === 'queue_full') {
      I.set(errEl, 'v.queue_full');
      poll(30000);
      return;
    }
    errEl.removeAttribute('data-i18n');
    errEl.textContent = I.errorText(err);
    poll(30000);
  }

  // ---- waiting ------------------------------------------------------------------------

  function showWaiting() {
    S.phase = 'waiting';
    show('view-waiting');
    if (!$('queue-position').textContent) I.set($('queue-position'), 'v.queue_joining');
    setConn('connected');
  }

  function onQueue(ev) {
    if (S.phase !== 'waiting') showWaiting();
    if (ev.position <= 1) I.set($('queue-position'), 'v.queue_next');
    else I.set($('queue-position'), 'v.queue_position', { n: ev.position });
    const m = ev.estimated_wait_minutes;
    I.set($('wait-estimate'), waitKey(m), { m });
  }

  async function leaveQueue() {
    if (!S.conn) {
      resetToStart();
      return;
    }
    $('leave-queue').disabled = true;
    try {
      await S.conn.request({ type: 'leave' });
    } catch (err) {
      // the `ended` event or the close does the rest
    }
    $('leave-queue').disabled = false;
    if (!S.ended) onEnded('abandoned_in_queue');
  }

  // ---- the chat -----------------------------------------------------------------------

  function showChat() {
    S.phase = 'chat';
    show('view-chat');
    $('composer').hidden = false;
    $('chat-actions').hidden = false;
    saveSession();
    $('message-input').focus();
  }

  function nearBottom(log) {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function append(el) {
    const log = $('messages');
    const stick = nearBottom(log);
    log.appendChild(el);
    if (stick || el.getAttribute('data-from') === 'me') log.scrollTop = log.scrollHeight;
  }

  function systemLine(key, vars, seq) {
    const el = I.h('div', { class: 'msg msg-system', testid: 'message', 'data-from': 'system' }, I.h('p', { i18n: key, vars }));
    if (seq) el.setAttribute('data-seq', String(seq));
    append(el);
    return el;
  }

  function messageEl(from, author, text, at) {
    const mine = from === 'me';
    const el = I.h(
      'div',
      { class: 'msg ' + (mine ? 'msg-me' : 'msg-them'), testid: 'message', 'data-from': from },
      mine ? I.h('p', { class: 'msg-author', i18n: 'v.me' }) : I.h('p', { class: 'msg-author', text: author }),
      I.h('p', { class: 'msg-text' }, I.linkify(text)),
      I.h('p', { class: 'msg-meta' }, I.h('span', { class: 'msg-time', text: at ? I.format.time(at) : '' }), ' ', I.h('span', { class: 'msg-status' }))
    );
    return el;
  }

  function setStatus(el, status) {
    el.setAttribute('data-status', status);
    const st = el.querySelector('.msg-status');
    const keys = { sending: 'v.msg_sending', sent: 'v.msg_sent', failed: 'v.msg_failed' };
    I.set(st, keys[status]);
    const retry = el.querySelector('.msg-retry');
    if (status === 'failed' && !retry) {
      const id = el.getAttribute('data-client-id');
      el.appendChild(I.h('button', { type: 'button', class: 'btn btn-small msg-retry', testid: 'message-retry', i18n: 'v.msg_retry', onclick: () => retrySend(id) }));
    } else if (status !== 'failed' && retry) {
      retry.remove();
    }
  }

  function onLog(e) {
    if (e.conversation !== S.conversation || typeof e.seq !== 'number') return;
    if (S.seen.has(e.seq)) return;
    S.seen.add(e.seq);
    if (e.seq > S.lastSeq) S.lastSeq = e.seq;
    const b = e.body || {};
    switch (b.type) {
      case 'message':
        onMessage(e, b);
        break;
      case 'joined':
        if (b.role === 'counsellor' || b.role === 'coordinator') {
          if (isLive()) S.attention.signal('att.counsellor_joined');
          S.joined = true;
          S.alias = b.alias;
          $('lost-note').hidden = true;
          if (S.phase === 'waiting') showChat();
          systemLine('v.log_joined', { name: b.alias }, e.seq);
        }
        break;
      case 'left':
        if (b.role === 'counsellor' || b.role === 'coordinator') systemLine('v.log_left', { name: b.alias }, e.seq);
        break;
      case 'time_warning':
        systemLine('v.log_time_warning', { n: b.minutes_left, limit: chatLimit() }, e.seq).classList.add('msg-warning');
        break;
      case 'extended':
        systemLine('v.log_extended', { n: b.minutes }, e.seq);
        break;
      case 'idle_prompt':
        systemLine('v.log_idle', null, e.seq).classList.add('msg-warning');
        break;
      case 'client_reconnecting':
        systemLine('v.log_reconnecting', null, e.seq);
        break;
      case 'client_resumed':
        systemLine('v.log_resumed', null, e.seq);
        break;
      case 'counsellor_lost':
        onCounsellorLost(b, e.seq);
        break;
      case 'partner_offered':
        showConsent(b);
        systemLine('v.log_partner_offered', { partner: b.partner_name }, e.seq);
        break;
      case 'partner_consent':
        $('consent').hidden = true;
        systemLine(b.consent ? 'v.log_consent_yes' : 'v.log_consent_no', null, e.seq);
        break;
      case 'partner_failed':
        $('consent').hidden = true;
        systemLine('v.log_partner_failed', null, e.seq);
        break;
      case 'transferred_out':
        showContinue(b.continue_at);
        break;
      case 'ended':
        onEnded(b.reason, e.seq);
        break;
      default:
        break; // a kind this page does not know
    }
    saveSession();
  }

  // The counsellor's connection was lost for good: the visitor is first in line for the
  // next one. Said in the chat and on the waiting screen; the chat so far stays on screen
  // for when the next counsellor joins.
  function onCounsellorLost(b, seq) {
    systemLine('v.log_counsellor_lost', { name: b.alias }, seq).classList.add('msg-warning');
    I.set($('lost-note'), 'v.lost_note', { name: b.alias });
    $('lost-note').hidden = false;
    S.phase = 'waiting';
    show('view-waiting');
    I.set($('queue-position'), 'v.queue_next');
    I.clear($('wait-estimate'));
  }

  // Whether an entry is news to the visitor, not the history a reloaded page asks for
  // again (that replay arrives right after the resume; the phone's clock is not trusted).
  function isLive() {
    return Date.now() > S.replayUntil;
  }

  function onMessage(e, b) {
    if (b.from !== 'client' && isLive()) S.attention.signal('att.new_message');
    if (b.from === 'client') {
      const p = S.pending.get(b.client_msg_id);
      if (p) {
        S.pending.delete(b.client_msg_id);
        p.el.setAttribute('data-seq', String(e.seq));
        p.el.querySelector('.msg-time').textContent = I.format.time(e.at);
        setStatus(p.el, 'sent');
        return;
      }
      const known = $('messages').querySelector('[data-client-id="' + cssEscape(b.client_msg_id) + '"]');
      if (known) {
        known.setAttribute('data-seq', String(e.seq));
        return;
      }
      const el = messageEl('me', null, b.text, e.at);
      el.setAttribute('data-seq', String(e.seq));
      setStatus(el, 'sent');
      append(el);
      return;
    }
    if (b.from === 'system') {
      const el = messageEl('system', b.author, b.text, e.at);
      el.className = 'msg msg-system';
      el.setAttribute('data-seq', String(e.seq));
      append(el);
      return;
    }
    hideTyping();
    const el = messageEl('counsellor', b.author, b.text, e.at);
    el.setAttribute('data-seq', String(e.seq));
    append(el);
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(String(s)) : String(s).replace(/["\\]/g, '\\$&');
  }

  function showTyping(role) {
    if (role === 'client') return;
    I.set($('typing'), S.alias ? 'v.typing' : 'v.typing_anon', { name: S.alias });
    if (S.typingTimer) clearTimeout(S.typingTimer);
    S.typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  }

  function hideTyping() {
    if (S.typingTimer) clearTimeout(S.typingTimer);
    S.typingTimer = null;
    I.clear($('typing'));
  }

  function updateCounter() {
    const n = Array.from($('message-input').value).length;
    const el = $('char-count');
    I.set(el, 'v.char_count', { n, max: S.maxChars });
    el.classList.toggle('over', n > S.maxChars);
  }

  function send(ev) {
    ev.preventDefault();
    if (S.ended) return;
    const input = $('message-input');
    const text = input.value.trim();
    if (!text) return;
    if (Array.from(text).length > S.maxChars) {
      updateCounter();
      return;
    }
    const id = P.messageId();
    const el = messageEl('me', null, text, null);
    el.setAttribute('data-client-id', id);
    setStatus(el, 'sending');
    append(el);
    S.pending.set(id, { text, el });
    input.value = '';
    updateCounter();
    input.focus();
    trySend(id);
  }

  function trySend(id) {
    const p = S.pending.get(id);
    if (!p || !S.conn || !S.conn.isOpen) return; // resent after the resume
    setStatus(p.el, 'sending');
    S.conn.request({ type: 'send', id, conversation: null, text: p.text }).then(
      (ack) => {
        const q = S.pending.get(id);
        if (!q) return;
        S.pending.delete(id);
        q.el.setAttribute('data-seq', String(ack.seq));
        q.el.querySelector('.msg-time').textContent = I.format.time(ack.at);
        S.seen.add(ack.seq);
        if (ack.seq > S.lastSeq) S.lastSeq = ack.seq;
        setStatus(q.el, 'sent');
        saveSession();
      },
      (err) => {
        if (!S.pending.has(id)) return;
        if (err.code === 'connection_closed') return; // resent after the resume
        if (err.code === 'store_unavailable' || err.code === 'rate_limited' || err.code === 'shutting_down') {
          setTimeout(() => trySend(id), 2000);
          return;
        }
        setStatus(p.el, 'failed');
        p.el.setAttribute('data-error', err.code || '');
      }
    );
  }

  function retrySend(id) {
    if (S.pending.has(id)) trySend(id);
  }

  function resendPending() {
    S.pending.forEach((p, id) => trySend(id));
  }

  function typed() {
    updateCounter();
    if (S.phase !== 'chat' || S.ended || !S.conn) return;
    const now = Date.now();
    if (now - S.lastTypingSent < TYPING_EVERY_MS) return;
    S.lastTypingSent = now;
    S.conn.fire({ type: 'typing', conversation: null });
  }

  function composerKey(ev) {
    const coarse = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !coarse) {
      ev.preventDefault();
      $('composer').requestSubmit();
    }
  }

  // Ending asks first: one tap next to "send" must not end a conversation.
  function askLeave() {
    $('leave-confirm').hidden = false;
    $('leave-no').focus();
  }

  function keepChatting() {
    $('leave-confirm').hidden = true;
    $('message-input').focus();
  }

  async function leaveChat() {
    $('leave-confirm').hidden = true;
    if (!S.conn) return;
    $('leave-chat').disabled = true;
    try {
      await S.conn.request({ type: 'leave' });
    } catch (err) {
      // the `ended` event tells
    }
    $('leave-chat').disabled = false;
  }

  // ---- partner line -------------------------------------------------------------------

  function showConsent(b) {
    I.set($('consent-text'), 'v.consent_text', { partner: b.partner_name });
    $('consent-summary').textContent = b.summary || '';
    $('consent').hidden = false;
    $('consent-yes').focus();
  }

  async function answerConsent(yes) {
    if (!S.conn) return;
    $('consent-yes').disabled = true;
    $('consent-no').disabled = true;
    try {
      await S.conn.request({ type: 'partner_consent', consent: yes });
      $('consent').hidden = true;
    } catch (err) {
      if (err.code !== 'partner') {
        systemLine('v.consent_error');
      }
      $('consent').hidden = true;
    }
    $('consent-yes').disabled = false;
    $('consent-no').disabled = false;
  }

  function safeUrl(u) {
    try {
      const url = new URL(u, location.href);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function showContinue(continueAt) {
    const url = safeUrl(continueAt);
    $('consent').hidden = true;
    systemLine('v.log_transferred');
    if (!url) return;
    const link = $('continue-link');
    link.href = url;
    I.set(link, 'v.continue');
    $('continue').hidden = false;
    link.focus();
    const w = window.open(url, '_blank');
    if (w) w.opener = null;
  }

  // ---- the end and the rating ---------------------------------------------------------

  const END_KEYS = {
    client_left: 'v.end_client_left',
    counsellor_ended: 'v.end_counsellor',
    time_limit: 'v.end_time_limit',
    broken_off: 'v.end_broken_off',
    abandoned: 'v.end_abandoned',
    abandoned_in_queue: 'v.end_left_queue',
    closed_at_closing_time: 'v.end_closing_time',
    transferred_out: 'v.end_transferred',
    server_shutdown: 'v.end_shutdown',
  };

  function onEnded(reason, seq) {
    if (S.ended) return;
    S.ended = true;
    hideTyping();
    $('consent').hidden = true;
    S.pending.forEach((p) => setStatus(p.el, 'failed'));
    S.pending.clear();
    if (!S.joined) {
      // Never got to chat: back to the start, or closed for today.
      const closing = reason === 'closed_at_closing_time';
      finishConnection();
      dropSession();
      resetChat();
      if (closing) {
        S.phase = 'closed';
        showClosed(S.closingNext || null, 'v.closed_while_waiting');
      } else {
        S.phase = 'loading';
        checkAvailability();
      }
      return;
    }
    const key = END_KEYS[reason] || 'v.end_other';
    systemLine(key, { limit: chatLimit() }, seq).classList.add('msg-end');
    $('view-chat').classList.add('ended');
    // What was typed but not sent stays visible (and can be copied).
    const unsent = $('message-input').value.trim();
    $('unsent').hidden = !unsent;
    $('unsent-text').textContent = unsent;
    $('composer').hidden = true;
    $('chat-actions').hidden = true;
    $('leave-confirm').hidden = true;
    I.set($('end-reason'), key, { limit: chatLimit() });
    saveSession();
    showRating();
  }

  function chatLimit() {
    return (S.info && S.info.chat_limit_minutes) || 45;
  }

  function finishConnection() {
    if (S.reconnectTimer) clearTimeout(S.reconnectTimer);
    S.reconnectTimer = null;
    if (S.conn) S.conn.close();
    S.conn = null;
    setConn('idle');
  }

  function showRating() {
    S.phase = 'rating';
    const chatVisible = $('messages').children.length > 0;
    show(...(chatVisible ? ['view-chat', 'view-rating'] : ['view-rating']));
    $('rating-form').hidden = false;
    $('rating-done').hidden = true;
    $('new-chat').hidden = true;
    I.clear($('rating-error'));
    if (!$('end-reason').textContent) I.set($('end-reason'), 'v.end_other');
    // Where the visitor looks: the reason and what to do next, at the top of the screen.
    const notice = $('end-notice');
    notice.scrollIntoView({ block: 'start' });
    notice.focus({ preventScroll: true });
  }

  function markStars(n) {
    document.querySelectorAll('.star-label').forEach((label, i) => {
      label.classList.toggle('lit', i < n);
    });
    const chosen = $('star-chosen');
    if (n) I.set(chosen, 'v.star_chosen', { n });
    else I.clear(chosen);
  }

  async function rate(ev) {
    ev.preventDefault();
    const checked = document.querySelector('input[name="stars"]:checked');
    if (!checked) {
      I.set($('rating-error'), 'v.rating_choose');
      $('star-1').focus();
      return;
    }
    const comment = $('rating-comment').value.trim();
    const frame = {
      type: 'rate',
      stars: Number(checked.value),
      comment: comment || null,
      conversation: S.conversation,
      resume_token: S.resumeToken,
    };
    $('rate').disabled = true;
    try {
      if (S.conn && S.conn.isOpen) await S.conn.request(frame);
      else await P.ask(frame);
    } catch (err) {
      $('rate').disabled = false;
      const el = $('rating-error');
      if (err.code === 'invalid_state') I.set(el, 'v.rating_already');
      else {
        el.removeAttribute('data-i18n');
        el.textContent = I.errorText(err);
      }
      return;
    }
    $('rate').disabled = false;
    thanks('v.rating_thanks');
  }

  function thanks(key) {
    finishConnection();
    dropSession();
    $('rating-form').hidden = true;
    $('rating-done').hidden = false;
    I.set($('rating-thanks'), key);
    $('new-chat').hidden = false;
    $('new-chat').focus();
  }

  function resetChat() {
    S.conversation = null;
    S.resumeToken = null;
    S.lastSeq = 0;
    S.seen.clear();
    S.pending.clear();
    S.joined = false;
    S.alias = null;
    S.ended = false;
    S.replaced = false;
    S.attempt = 0;
    $('messages').textContent = '';
    $('view-chat').classList.remove('ended');
    I.clear($('queue-position'));
    I.clear($('wait-estimate'));
    $('consent').hidden = true;
    $('continue').hidden = true;
    $('composer').hidden = false;
    $('chat-actions').hidden = false;
    $('rating-form').reset();
    markStars(0);
    hideTyping();
    I.clear($('end-reason'));
    $('unsent').hidden = true;
    $('unsent-text').textContent = '';
    $('message-input').value = '';
    updateCounter();
    $('lost-note').hidden = true;
    $('leave-confirm').hidden = true;
  }

  function resetToStart() {
    finishConnection();
    dropSession();
    resetChat();
    S.phase = 'loading';
    show('view-loading');
    checkAvailability();
  }

  // ---- connection loss and resume -----------------------------------------------------

  function onEvent(ev) {
    switch (ev.event) {
      case 'queue':
        if (ev.conversation === S.conversation) onQueue(ev);
        break;
      case 'log':
        onLog(ev);
        break;
      case 'typing':
        if (ev.conversation === S.conversation) showTyping(ev.role);
        break;
      case 'closing_notice':
        S.closingNext = ev.next_opening || null;
        break;
      case 'disconnecting':
        if (ev.kind === 'replaced') S.replaced = true;
        break;
      default:
        break;
    }
  }

  function onClose(info) {
    S.conn = null;
    if (S.ended || !S.conversation) {
      setConn('idle');
      return;
    }
    if (info.code === 4009 || S.replaced) {
      setConn('replaced');
      return;
    }
    if (info.code === 4002) {
      setConn('offline');
      return;
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (S.reconnectTimer) return;
    setConn('reconnecting');
    const delay = P.backoff(S.attempt);
    S.attempt += 1;
    S.reconnectTimer = setTimeout(() => {
      S.reconnectTimer = null;
      resume(false);
    }, delay);
  }

  async function resume(fromZero) {
    if (S.conn || !S.conversation || S.ended) return;
    S.replaced = false;
    const conn = newConnection();
    try {
      await conn.connect();
    } catch (err) {
      scheduleReconnect();
      return;
    }
    try {
      await conn.request({
        type: 'resume',
        conversation: S.conversation,
        resume_token: S.resumeToken,
        last_seq: fromZero ? 0 : S.lastSeq,
      });
    } catch (err) {
      conn.close();
      if (err.code === 'resume_refused') {
        resumeRefused();
      } else if (err.code === 'connection_closed') {
        // onClose of this connection is not called (it never became ours): retry
        scheduleReconnect();
      } else {
        scheduleReconnect();
      }
      return;
    }
    S.conn = conn;
    S.attempt = 0;
    setConn('connected');
    resendPending();
  }

  function resumeRefused() {
    setConn('idle');
    if (S.joined) {
      // The chat ended while we were away (the `ended` entry is not replayed).
      S.ended = true;
      S.pending.forEach((p) => setStatus(p.el, 'failed'));
      S.pending.clear();
      systemLine('v.end_while_away').classList.add('msg-end');
      $('view-chat').classList.add('ended');
      $('composer').hidden = true;
      $('chat-actions').hidden = true;
      saveSession();
      showRating();
    } else {
      dropSession();
      resetChat();
      S.phase = 'loading';
      show('view-loading');
      checkAvailability();
    }
  }

  function takeBack() {
    if (S.conn) return;
    setConn('connecting');
    resume(false);
  }

  // ---- quick exit ---------------------------------------------------------------------

  function wipeStorage() {
    try {
      localStorage.clear();
    } catch (e) {
      // nothing stored
    }
    try {
      sessionStorage.clear();
    } catch (e) {
      // nothing stored
    }
    try {
      document.cookie.split(';').forEach((c) => {
        const name = c.split('=')[0].trim();
        if (!name) return;
        ['/', location.pathname].forEach((path) => {
          document.cookie = name + '=; expires=Thu, 01 Jan 1970 00:00:00 GMT; max-age=0; path=' + path;
        });
      });
    } catch (e) {
      // no cookies
    }
  }

  // Leaves at once and leaves nothing behind, at any stage: the chat is left, the page
  // stops writing (an `ended` that arrives after this must not save the chat again), every
  // storage area is emptied now and once more as the page goes.
  function quickExit() {
    const conn = S.conn;
    const leaving = S.conversation && !S.ended;
    S.exiting = true;
    S.conversation = null;
    S.resumeToken = null;
    if (S.reconnectTimer) clearTimeout(S.reconnectTimer);
    stopPolling();
    try {
      if (conn && leaving) conn.fire({ type: 'leave' });
      if (conn) conn.close();
    } catch (e) {
      // leaving anyway
    }
    S.conn = null;
    wipeStorage();
    window.addEventListener('pagehide', wipeStorage);
    // In a centre's box on the centre's website (a frame), the whole tab goes.
    try {
      if (window.top !== window) {
        window.top.location.replace(S.exitUrl || DEFAULT_EXIT);
        return;
      }
    } catch (e) {
      // the browser keeps the page around the frame; the frame itself goes
    }
    location.replace(S.exitUrl || DEFAULT_EXIT);
  }

  function keydown(ev) {
    if (ev.key !== 'Escape') return;
    const now = Date.now();
    if (now - S.lastEscape < 1500) {
      quickExit();
      return;
    }
    S.lastEscape = now;
  }

  // ---- boot ---------------------------------------------------------------------------

  async function boot() {
    S.phase = 'loading';
    show('view-loading');
    I.clear($('loading-error'));
    $('loading-retry').hidden = true;
    try {
      S.info = await P.info(PAGE_DESK);
    } catch (err) {
      showLoadingError(err);
      return;
    }
    S.desk = (S.info.desk && S.info.desk.id) || S.desk;
    // A centre's chatbox says whose it is under the service's name.
    if (PAGE_DESK && S.info.desk && S.info.desk.name) {
      const sub = document.querySelector('.brand-sub');
      if (sub) {
        sub.removeAttribute('data-i18n');
        sub.textContent = S.info.desk.name;
      }
      // A centre's box also hears from teachers (after an incident at school).
      $('choice-teacher').hidden = false;
      // On a phone the line under the name is hidden: the titles say whose chat it is.
      I.set($('closed-title'), 'v.closed_title_box', { name: S.info.desk.name });
      I.set($('start-title'), 'v.start_title_box', { name: S.info.desk.name });
    }
    S.maxChars = S.info.max_message_chars || S.maxChars;
    S.exitUrl = safeUrl(S.info.quick_exit_url) || DEFAULT_EXIT;
    I.set($('start-intro'), 'v.start_intro', { limit: chatLimit() });
    renderHours(S.info.hours);
    renderNational(S.info.national_desk);
    $('message-input').setAttribute('maxlength', String(S.maxChars));
    updateCounter();

    const saved = loadSession();
    if (saved) {
      S.conversation = saved.conversation;
      S.resumeToken = saved.resume_token;
      S.joined = !!saved.joined;
      S.lastSeq = 0;
      if (saved.ended) {
        S.ended = true;
        if (S.joined) showRating();
        else resetToStart();
        return;
      }
      if (saved.phase === 'chat') {
        S.phase = 'chat';
        show('view-chat');
      } else {
        S.phase = 'waiting';
        show('view-waiting');
        I.set($('queue-position'), 'v.queue_joining');
      }
      setConn('connecting');
      // A reload lost what was on screen: ask for the whole visible log again (quietly).
      S.replayUntil = Date.now() + 2000;
      resume(true);
      return;
    }
    checkAvailability();
  }

  function wire() {
    I.init();
    S.attention = window.ClbAttention.create({ titleKey: 'v.title' });
    $('waiting-attention').append(S.attention.soundButton('sound-toggle'), S.attention.notifyButton('ask-notify'));
    $('chat-attention').append(S.attention.soundButton('sound-toggle-chat'));
    $('quick-exit').addEventListener('click', quickExit);
    document.addEventListener('keydown', keydown);
    $('loading-retry').addEventListener('click', boot);
    $('start-form').addEventListener('submit', start);
    $('client-student').addEventListener('change', updateProfileLabels);
    $('client-parent').addEventListener('change', updateProfileLabels);
    $('leave-queue').addEventListener('click', leaveQueue);
    $('composer').addEventListener('submit', send);
    $('message-input').addEventListener('input', typed);
    $('message-input').addEventListener('keydown', composerKey);
    $('leave-chat').addEventListener('click', askLeave);
    $('leave-yes').addEventListener('click', leaveChat);
    $('leave-no').addEventListener('click', keepChatting);
    $('consent-yes').addEventListener('click', () => answerConsent(true));
    $('consent-no').addEventListener('click', () => answerConsent(false));
    $('rating-form').addEventListener('submit', rate);
    $('rate-skip').addEventListener('click', () => thanks('v.rating_skipped'));
    $('new-chat').addEventListener('click', resetToStart);
    document.querySelectorAll('input[name="stars"]').forEach((r) => {
      r.addEventListener('change', () => {
        markStars(Number(r.value));
        I.clear($('rating-error'));
      });
    });
    const takeBackBtn = I.h('button', { type: 'button', class: 'btn btn-small', id: 'take-back', testid: 'take-back', i18n: 'v.take_back', hidden: true, onclick: takeBack });
    $('conn-bar').appendChild(takeBackBtn);
    window.addEventListener('online', () => {
      if (S.reconnectTimer) {
        clearTimeout(S.reconnectTimer);
        S.reconnectTimer = null;
        resume(false);
      }
    });
    boot();
  }

  wire();
})();
