// blended-chat: the client's join page. The token is in the link's fragment (#token=…), so
// it never reaches a server log or a Referer. The page asks what the link is for
// (appointment_link), says so plainly when it is too early, over or cancelled, and from 15
// minutes before the start joins the waiting room (arrive with the token); the counsellor
// gets the chat at once. A dropped connection is resumed; the chat survives a reload of the
// tab (sessionStorage, this tab only).
'use strict';

(function () {
  const I = window.ClbI18n;
  const P = window.ClbProto;
  const $ = (id) => document.getElementById(id);
  // The page's desk (on a server of the sector, blended chat's beside the national desk);
  // empty: the server's own, as /api/info names it.
  let DESK = document.documentElement.getAttribute('data-desk') || '';
  const SAVED = 'blended.session';
  const RETRY_MS = [1000, 2000, 5000, 10000, 20000];

  I.init();
  if (!$('view-status')) return; // the welcome page needs only its texts

  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  const S = {
    conn: null,
    link: null,
    conversation: null,
    resumeToken: null,
    lastSeq: 0,
    ended: false,
    here: false,
    attempt: 0,
    openTimer: null,
    nextId: 1,
    sent: new Map(),
  };

  function name() {
    return (S.link && S.link.counsellor) || I.t('b.counsellor_unknown');
  }

  function status(titleKey, textKey, vars, hintKey) {
    $('view-status').hidden = false;
    $('view-chat').hidden = true;
    I.set($('status-title'), titleKey);
    if (textKey) I.set($('status-text'), textKey, vars);
    else I.clear($('status-text'));
    if (hintKey) I.set($('status-hint'), hintKey);
    else I.clear($('status-hint'));
  }

  function save() {
    try {
      sessionStorage.setItem(
        SAVED,
        JSON.stringify({ token, conversation: S.conversation, resume_token: S.resumeToken, last_seq: S.lastSeq })
      );
    } catch (e) {
      // storage blocked: a reload starts over, nothing else is lost
    }
  }

  function saved() {
    try {
      const s = JSON.parse(sessionStorage.getItem(SAVED) || 'null');
      return s && s.token === token ? s : null;
    } catch (e) {
      return null;
    }
  }

  function forget() {
    try {
      sessionStorage.removeItem(SAVED);
    } catch (e) {
      // nothing to forget
    }
  }

  function connState(state) {
    const el = $('connection-state');
    el.setAttribute('data-state', state);
    if (state === 'reconnecting') I.set(el, 'b.reconnecting');
    else I.clear(el);
  }

  async function connect() {
    const conn = new P.Connection({
      onEvent,
      onClose: (info) => {
        if (S.conn !== conn) return;
        S.conn = null;
        if (info.code === 4009) {
          I.set($('chat-notice'), 'b.elsewhere');
          $('composer').hidden = true;
          forget();
          return;
        }
        if (!S.ended) reconnectLater();
      },
    });
    await conn.connect();
    S.conn = conn;
    return conn;
  }

  function reconnectLater() {
    connState('reconnecting');
    const wait = RETRY_MS[Math.min(S.attempt, RETRY_MS.length - 1)];
    S.attempt += 1;
    setTimeout(() => {
      start().catch(() => reconnectLater());
    }, wait);
  }

  async function start() {
    if (!token) {
      status('b.no_link_title', 'b.no_link');
      return;
    }
    if (!DESK) DESK = ((await P.info()).desk || {}).id || 'blended';
    const conn = S.conn || (await connect());
    connState('connected');
    S.attempt = 0;
    const again = saved();
    if (again && again.conversation && again.resume_token) {
      try {
        await conn.request({
          type: 'resume',
          conversation: again.conversation,
          resume_token: again.resume_token,
          last_seq: again.last_seq || 0,
        });
        S.conversation = again.conversation;
        S.resumeToken = again.resume_token;
        S.lastSeq = again.last_seq || 0;
        if (!S.link) S.link = (await conn.request({ type: 'appointment_link', desk: DESK, token })).link;
        showChat();
        return;
      } catch (err) {
        forget(); // the chat is over or gone: look at the link afresh
      }
    }
    let answer;
    try {
      answer = await conn.request({ type: 'appointment_link', desk: DESK, token });
    } catch (err) {
      if (err.code === 'invalid') {
        status('b.bad_link_title', 'b.bad_link');
      } else {
        status('b.loading');
        I.set($('status-text'), 'b.load_failed');
        $('retry').hidden = false;
      }
      return;
    }
    S.link = answer.link;
    const when = { dt: S.link.starts_at };
    const vars = { name: name(), when, opens: { time: S.link.opens_at } };
    if (S.link.state === 'too_early') {
      status('b.too_early_title', 'b.too_early', vars, 'b.too_early_hint');
      const wait = Math.max(1000, Date.parse(S.link.opens_at) - Date.now());
      clearTimeout(S.openTimer);
      S.openTimer = setTimeout(() => start().catch(() => reconnectLater()), Math.min(wait, 60000));
      return;
    }
    if (S.link.state === 'over') return status('b.over_title', 'b.over', vars);
    if (S.link.state === 'cancelled') return status('b.cancelled_title', 'b.cancelled', vars);
    const welcome = await conn.request({ type: 'arrive', desk: DESK, appointment: token });
    S.conversation = welcome.conversation;
    S.resumeToken = welcome.resume_token;
    S.lastSeq = 0;
    save();
    showChat();
  }

  function showChat() {
    $('view-status').hidden = true;
    $('view-chat').hidden = false;
    if (!S.here) {
      const starts = Date.parse(S.link.starts_at);
      if (starts > Date.now()) I.set($('chat-notice'), 'b.waiting_room', { name: name(), time: { time: S.link.starts_at } });
      else I.set($('chat-notice'), 'b.waiting_room_now', { name: name() });
    }
    $('message-input').focus();
  }

  function onEvent(ev) {
    if (ev.event !== 'log' || ev.conversation !== S.conversation) return;
    if (ev.seq <= S.lastSeq) return;
    S.lastSeq = ev.seq;
    save();
    const b = ev.body || {};
    if (b.type === 'message') addMessage(b, ev.at);
    else if (b.type === 'joined' && b.role !== 'client') {
      S.here = true;
      I.set($('chat-notice'), 'b.counsellor_here', { name: b.alias || name() });
    } else if (b.type === 'left' && b.role !== 'client') {
      I.set($('chat-notice'), 'b.counsellor_left', { name: b.alias || name() });
    } else if (b.type === 'ended') {
      S.ended = true;
      I.set($('chat-notice'), 'b.ended');
      $('composer').hidden = true;
      forget();
    }
  }

  function addMessage(b, at) {
    const mine = b.from === 'client';
    if (mine && b.client_msg_id && S.sent.has(b.client_msg_id)) {
      // Our own message, already on screen: its stored copy gives it its time.
      const el = S.sent.get(b.client_msg_id);
      el.classList.remove('msg-pending');
      if (!el.querySelector('.msg-meta')) {
        el.appendChild(I.h('p', { class: 'msg-meta' }, I.h('span', { class: 'msg-time', text: at ? I.format.time(at) : '' })));
      }
      return;
    }
    const log = $('messages');
    log.appendChild(
      I.h(
        'div',
        { class: 'msg ' + (mine ? 'msg-me' : 'msg-them'), testid: 'message', 'data-from': b.from },
        I.h('p', { class: 'msg-author', text: mine ? I.t('b.me') : b.author }),
        I.h('p', { class: 'msg-text', text: b.text }),
        I.h('p', { class: 'msg-meta' }, I.h('span', { class: 'msg-time', text: at ? I.format.time(at) : '' }))
      )
    );
    log.scrollTop = log.scrollHeight;
  }

  async function send(e) {
    e.preventDefault();
    const input = $('message-input');
    const text = input.value.trim();
    if (!text || !S.conn) return;
    I.clear($('send-error'));
    const id = 'j-' + Date.now().toString(36) + '-' + S.nextId++;
    const el = I.h(
      'div',
      { class: 'msg msg-me msg-pending', testid: 'message', 'data-from': 'client' },
      I.h('p', { class: 'msg-author', text: I.t('b.me') }),
      I.h('p', { class: 'msg-text', text })
    );
    S.sent.set(id, el);
    $('messages').appendChild(el);
    input.value = '';
    try {
      await S.conn.request({ type: 'send', id, text });
      el.classList.remove('msg-pending');
    } catch (err) {
      S.sent.delete(id);
      el.remove();
      input.value = text;
      $('send-error').textContent = I.errorText(err) || I.t('b.not_sent');
    }
  }

  // Another link opened in this tab: start over with it.
  window.addEventListener('hashchange', () => location.reload());
  $('composer').addEventListener('submit', send);
  $('message-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) send(e);
  });
  $('retry').addEventListener('click', () => {
    $('retry').hidden = true;
    start().catch(() => reconnectLater());
  });
  start().catch((err) => {
    if (err && err.code === 'connection_failed') {
      status('b.loading');
      I.set($('status-text'), 'b.load_failed');
      $('retry').hidden = false;
    } else reconnectLater();
  });
})();
