// clbchat: what the counsellor and coordinator pages share.
//
// - Session: the login form, the staff connection, and logging in again by itself after
//   a dropped connection (the password is kept in memory only, for this page's life; it
//   is never stored). Not after "you logged in elsewhere".
// - Workspace: the staff member's own chats (tabs, log, typing, send with ack and resend,
//   whisper, transfer, partner line, extension, end, registration).
// - renderEntry: one log entry as staff see it (also used for observed chats).
'use strict';

(function () {
  const I = window.ClbI18n;
  const P = window.ClbProto;
  const h = I.h;
  const TYPING_EVERY_MS = 3000;
  const TYPING_SHOWN_MS = 6000;

  // ---- session ------------------------------------------------------------------------

  // handlers: onLoggedIn(identity, again), onLoggedOut(reasonKey), onEvent(event),
  // onConnState(state) with state 'connected' | 'reconnecting' | 'idle'.
  class Session {
    constructor(handlers) {
      this.handlers = handlers;
      this.conn = null;
      this.identity = null;
      this.credentials = null;
      this.attempt = 0;
      this.timer = null;
      this.replaced = false;
    }

    get connected() {
      return this.conn !== null && this.conn.isOpen;
    }

    _newConnection() {
      const conn = new P.Connection({
        onEvent: (ev) => {
          if (this.conn !== conn) return;
          if (ev.event === 'disconnecting' && ev.kind === 'replaced') this.replaced = true;
          this.handlers.onEvent(ev);
        },
        onClose: (info) => {
          if (this.conn !== conn) return;
          this.conn = null;
          this._closed(info);
        },
      });
      return conn;
    }

    async _open(username, password) {
      const conn = this._newConnection();
      await conn.connect();
      try {
        const answer = await conn.request({ type: 'login', username, password });
        this.conn = conn;
        return answer.identity;
      } catch (err) {
        conn.close();
        throw err;
      }
    }

    // Logs in; rejects with {code, message}.
    async login(username, password) {
      this.logout();
      this.replaced = false;
      const identity = await this._open(username, password);
      this.identity = identity;
      this.credentials = { username, password };
      this.attempt = 0;
      this.handlers.onConnState('connected');
      this.handlers.onLoggedIn(identity, false);
      return identity;
    }

    logout() {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.credentials = null;
      this.identity = null;
      const conn = this.conn;
      this.conn = null;
      if (conn) conn.close();
      this.handlers.onConnState('idle');
    }

    request(frame) {
      if (!this.conn) return Promise.reject({ code: 'connection_closed', message: 'not connected' });
      return this.conn.request(frame);
    }

    fire(frame) {
      return this.conn ? this.conn.fire(frame) : false;
    }

    _closed(info) {
      if (!this.credentials) return;
      if (this.replaced || info.code === 4009) {
        this.credentials = null;
        this.handlers.onConnState('idle');
        this.handlers.onLoggedOut('s.logged_in_elsewhere');
        return;
      }
      if (info.code === 4002) {
        this.credentials = null;
        this.handlers.onLoggedOut('s.version_refused');
        return;
      }
      this._schedule();
    }

    _schedule() {
      if (this.timer || !this.credentials) return;
      this.handlers.onConnState('reconnecting');
      const delay = P.backoff(this.attempt);
      this.attempt += 1;
      this.timer = setTimeout(() => {
        this.timer = null;
        this._again();
      }, delay);
    }

    async _again() {
      if (!this.credentials || this.conn) return;
      const { username, password } = this.credentials;
      let identity;
      try {
        identity = await this._open(username, password);
      } catch (err) {
        if (err.code === 'bad_credentials') {
          this.credentials = null;
          this.handlers.onConnState('idle');
          this.handlers.onLoggedOut('s.relogin_refused');
          return;
        }
        this._schedule();
        return;
      }
      this.identity = identity;
      this.attempt = 0;
      this.handlers.onConnState('connected');
      this.handlers.onLoggedIn(identity, true);
    }

    retryNow() {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
        this._again();
      }
    }
  }

  // Wires the login form of a page (ids: login-form, username, password, login, login-error).
  function wireLogin(session, opts) {
    const form = document.getElementById('login-form');
    const err = document.getElementById('login-error');
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      I.clear(err);
      const username = document.getElementById('username').value.trim();
      const passwordEl = document.getElementById('password');
      const password = passwordEl.value;
      if (!username || !password) {
        I.set(err, 's.login_missing');
        return;
      }
      const button = document.getElementById('login');
      button.disabled = true;
      try {
        const identity = await session.login(username, password);
        passwordEl.value = '';
        if (opts && opts.check) opts.check(identity);
      } catch (e) {
        if (e.code === 'bad_credentials') I.set(err, 's.login_bad');
        else if (e.code === 'connection_failed' || e.code === 'connection_closed') I.set(err, 's.login_no_connection');
        else {
          err.removeAttribute('data-i18n');
          err.textContent = I.errorText(e, true);
        }
        passwordEl.focus();
      } finally {
        button.disabled = false;
      }
    });
    window.addEventListener('online', () => session.retryNow());
  }

  function setConnState(state) {
    const el = document.getElementById('connection-state');
    if (!el) return;
    el.setAttribute('data-state', state);
    if (state === 'reconnecting') I.set(el, 's.conn_reconnecting');
    else I.clear(el);
  }

  // ---- texts --------------------------------------------------------------------------

  function transferTargetVars(to) {
    if (!to) return { key: 's.target_unknown' };
    if (to.kind === 'colleague') return { key: 's.target_colleague', vars: { staff: to.staff } };
    if (to.kind === 'discipline') return { key: 's.target_discipline', vars: { discipline: { key: 'disc.' + to.discipline } } };
    return { key: 's.target_coordinator' };
  }

  function profileVars(profile) {
    const p = profile || {};
    const parts = [];
    parts.push(p.client_type ? I.t('ct.' + p.client_type) : I.t('s.type_unknown'));
    if (p.age) parts.push(I.t('s.age_n', { n: p.age }));
    if (p.gender) parts.push(I.t('gender.' + p.gender));
    if (p.health_question) parts.push(I.t('s.health_question'));
    return parts.join(' · ');
  }

  function clientName(profile) {
    const p = profile || {};
    if (p.nickname) return p.nickname;
    return p.client_type ? I.t('ct.' + p.client_type) : I.t('s.client');
  }

  // One log entry as staff see it. ctx: {isMine(body) -> bool}. Returns the element.
  function renderEntry(e, ctx) {
    const b = e.body || {};
    const time = I.format.time(e.at);
    const sys = (key, vars, extraClass) => {
      const el = h(
        'div',
        { class: 'msg msg-system' + (extraClass ? ' ' + extraClass : ''), testid: 'message', 'data-from': 'system', 'data-seq': String(e.seq), 'data-kind': b.type },
        h('p', {}, h('span', { class: 'msg-time', text: time }), ' ', h('span', { i18n: key, vars }))
      );
      return el;
    };
    switch (b.type) {
      case 'message': {
        const mine = ctx && ctx.isMine && ctx.isMine(b);
        const from = mine ? 'me' : b.from === 'client' ? 'client' : b.from === 'system' ? 'system' : 'counsellor';
        return h(
          'div',
          { class: 'msg ' + (mine ? 'msg-me' : from === 'client' ? 'msg-them' : 'msg-colleague'), testid: 'message', 'data-from': from, 'data-seq': String(e.seq) },
          h('p', { class: 'msg-author', text: b.author }),
          h('p', { class: 'msg-text' }, I.linkify(b.text || '')),
          h('p', { class: 'msg-meta' }, h('span', { class: 'msg-time', text: time }), ' ', h('span', { class: 'msg-status' }))
        );
      }
      case 'whisper':
        return h(
          'div',
          { class: 'msg msg-whisper', testid: 'message', 'data-from': 'whisper', 'data-seq': String(e.seq) },
          h('p', { class: 'msg-author', i18n: 's.whisper_from', vars: { from: b.from, role: { key: 'role.' + b.role } } }),
          h('p', { class: 'msg-text' }, I.linkify(b.text || '')),
          h('p', { class: 'msg-meta' }, h('span', { class: 'msg-time', text: time }))
        );
      case 'joined':
        return sys('s.log_joined', { name: b.alias, role: { key: 'role.' + b.role } });
      case 'left':
        return sys('s.log_left', { name: b.alias, role: { key: 'role.' + b.role } });
      case 'time_warning':
        return sys('s.log_time_warning', { n: b.minutes_left }, 'msg-warning');
      case 'extended':
        return sys('s.log_extended', { n: b.minutes });
      case 'extension_reason':
        return sys('s.log_extension_reason', { by: b.by, reason: b.reason });
      case 'idle_prompt':
        return sys('s.log_idle', null, 'msg-warning');
      case 'client_reconnecting':
        return sys('s.log_reconnecting', null, 'msg-warning');
      case 'client_resumed':
        return sys('s.log_resumed');
      case 'transfer_offered':
        return sys('s.log_transfer_offered', { from: b.from, to: transferTargetVars(b.to), note: b.note || '' });
      case 'transfer_declined':
        return sys('s.log_transfer_declined', { by: b.by });
      case 'transfer_accepted':
        return sys('s.log_transfer_accepted', { from: b.from, to: b.to });
      case 'partner_offered':
        return sys('s.log_partner_offered', { partner: b.partner_name || b.partner, summary: b.summary || '' });
      case 'partner_failed':
        return sys('s.log_partner_failed', { partner: b.partner, reason: b.reason || '' }, 'msg-warning');
      case 'partner_consent':
        return sys(b.consent ? 's.log_consent_yes' : 's.log_consent_no', { partner: b.partner });
      case 'transferred_out':
        return sys('s.log_transferred_out', { partner: b.partner });
      case 'taken_over':
        return sys('s.log_taken_over', { by: b.by, from: b.from || '—' });
      case 'ended':
        return sys('s.log_ended', { reason: { key: 'end.' + b.reason } }, 'msg-end');
      default:
        return sys('s.log_other', { kind: b.type || '?' });
    }
  }

  function nearBottom(log) {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  // Inserts an entry in seq order (a rejoin may bring older entries after newer live ones).
  function insertEntry(log, el, seq) {
    const stick = nearBottom(log);
    let before = null;
    if (seq) {
      const items = log.querySelectorAll('[data-seq]');
      for (let i = items.length - 1; i >= 0; i -= 1) {
        const s = Number(items[i].getAttribute('data-seq'));
        if (s > seq) before = items[i];
        else break;
      }
    }
    log.insertBefore(el, before);
    if (stick) log.scrollTop = log.scrollHeight;
  }

  // ---- fields -------------------------------------------------------------------------

  function field(labelKey, control, hintKey) {
    const id = control.id || I.id('f');
    control.id = id;
    const hintId = hintKey ? id + '-hint' : null;
    if (hintId) control.setAttribute('aria-describedby', hintId);
    return h('div', { class: 'field' }, h('label', { for: id, i18n: labelKey }), control, hintKey ? h('p', { class: 'hint', id: hintId, i18n: hintKey }) : null);
  }

  function checkbox(labelKey, attrs, labelText) {
    const id = I.id('c');
    const input = h('input', Object.assign({ type: 'checkbox', id }, attrs));
    const label = labelText ? h('label', { for: id }) : h('label', { for: id, i18n: labelKey });
    if (labelText) I.dual(label, labelText.nl, labelText.en);
    return h('div', { class: 'choice' }, input, label);
  }

  function option(value, key, text) {
    const o = h('option', { value });
    if (key) I.set(o, key);
    else if (text) I.dual(o, text.nl, text.en);
    return o;
  }

  function statusText(el, key, vars) {
    if (key) I.set(el, key, vars);
    else I.clear(el);
  }

  function errorInto(el, err) {
    el.removeAttribute('data-i18n');
    el.textContent = I.errorText(err, true);
  }

  // ---- the registration form ----------------------------------------------------------

  const DOMAINS = ['PGZ', 'PSF', 'LS', 'OLB'];

  function registrationForm(chat, info, onSubmit) {
    const p = chat.profile || {};
    const typeSel = h('select', { testid: 'reg-client-type' }, ['student', 'parent', 'teacher', 'other'].map((v) => option(v, 'ct.' + v)));
    typeSel.value = p.client_type || 'student';
    const age = h('input', { type: 'number', min: '3', max: '99', step: '1', inputmode: 'numeric', testid: 'reg-age' });
    if (p.age) age.value = String(p.age);
    const gender = h('select', { testid: 'reg-gender' }, option('', 's.reg_gender_none'), ['F', 'M', 'X'].map((g) => option(g, 'gender.' + g)));
    gender.value = p.gender || '';

    const topics = (info && info.topics) || [];
    const byDomain = new Map();
    topics.forEach((tp) => {
      const d = tp.domain === 'L&S' ? 'LS' : tp.domain;
      if (!byDomain.has(d)) byDomain.set(d, []);
      byDomain.get(d).push(tp);
    });
    const order = DOMAINS.filter((d) => byDomain.has(d)).concat(Array.from(byDomain.keys()).filter((d) => !DOMAINS.includes(d)));
    const topicBox = h(
      'div',
      { class: 'topic-groups', testid: 'reg-topic' },
      order.map((d) =>
        h(
          'fieldset',
          { class: 'choice-group compact' },
          h('legend', { i18n: I.has('domain.' + d) ? 'domain.' + d : 's.domain_other', vars: { code: d } }),
          byDomain.get(d).map((tp) => checkbox(null, { value: tp.code, name: 'topic' }, { nl: tp.nl, en: tp.en || tp.nl }))
        )
      )
    );
    const topicsFs = h('fieldset', { class: 'choice-group' }, h('legend', { i18n: 's.reg_topics' }), topicBox);

    const results = (info && info.results) || [];
    const resultBox = h(
      'fieldset',
      { class: 'choice-group compact', testid: 'reg-result' },
      h('legend', { i18n: 's.reg_results' }),
      results.map((r) => checkbox(I.has('result.' + r) ? 'result.' + r : null, { value: r, name: 'result' }, I.has('result.' + r) ? null : { nl: r, en: r }))
    );
    const found = h(
      'select',
      { testid: 'reg-found-via' },
      option('', 's.reg_found_unknown'),
      ((info && info.found_via) || []).map((f) => (I.has('found.' + f) ? option(f, 'found.' + f) : option(f, null, { nl: f, en: f })))
    );
    const fake = checkbox('s.reg_fake', { testid: 'reg-fake', name: 'fake' });
    const error = h('p', { class: 'error-text', role: 'alert', testid: 'reg-error' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'register', i18n: 's.register' });
    const titleId = I.id('reg-title');
    const form = h(
      'form',
      { class: 'registration card-inner', testid: 'registration-form', novalidate: true, 'aria-labelledby': titleId },
      h('h4', { id: titleId, i18n: 's.reg_title' }),
      h('p', { class: 'hint', i18n: 's.reg_hint' }),
      h('div', { class: 'field-row' }, field('s.reg_client_type', typeSel), field('s.reg_age', age), field('s.reg_gender', gender)),
      topicsFs,
      resultBox,
      field('s.reg_found_via', found),
      fake,
      error,
      submit
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      I.clear(error);
      const chosenTopics = Array.from(topicBox.querySelectorAll('input:checked')).map((i) => i.value);
      const chosenResults = Array.from(resultBox.querySelectorAll('input:checked')).map((i) => i.value);
      if (!chosenTopics.length) {
        I.set(error, 's.reg_need_topic');
        return;
      }
      if (!chosenResults.length) {
        I.set(error, 's.reg_need_result');
        return;
      }
      let ageVal = null;
      if (age.value.trim()) {
        const n = Number(age.value);
        if (!Number.isInteger(n) || n < 3 || n > 99) {
          I.set(error, 's.reg_bad_age');
          return;
        }
        ageVal = n;
      }
      const formData = {
        client_type: typeSel.value,
        age: ageVal,
        gender: gender.value || null,
        topics: chosenTopics,
        results: chosenResults,
        found_via: found.value || null,
        fake_call: fake.querySelector('input').checked,
      };
      submit.disabled = true;
      onSubmit(formData).then(
        () => {
          submit.disabled = false;
        },
        (err) => {
          submit.disabled = false;
          errorInto(error, err);
        }
      );
    });
    return form;
  }

  // ---- the workspace: one's own chats -------------------------------------------------

  class Workspace {
    // opts: {session, info, tabsEl, panesEl, emptyEl, onChange(), onRegistered(id), partners, identified,
    //        deskName(desk), isIdentified(desk)}
    // identified: the clients are known (blended chat): no anonymous self-report line;
    // isIdentified(desk): the same for one desk's chats, on a page of several desks.
    constructor(opts) {
      this.o = opts;
      this.chats = new Map();
      this.selected = null;
      this.myIds = new Set();
      setInterval(() => this.tick(), 15000);
      I.onChange(() => this.chats.forEach((c) => this.refreshHead(c)));
    }

    has(conversation) {
      return this.chats.has(conversation);
    }

    get identity() {
      return this.o.session.identity || {};
    }

    activeCount() {
      let n = 0;
      this.chats.forEach((c) => {
        if (c.status === 'active') n += 1;
      });
      return n;
    }

    // -- events --

    onEvent(ev) {
      switch (ev.event) {
        case 'chat_assigned':
          this.assigned(ev);
          return true;
        case 'log': {
          const c = this.chats.get(ev.conversation);
          if (!c) return false;
          const fresh = !c.seen.has(ev.seq);
          this.onLog(c, ev);
          // Live only (a rejoin's catch-up comes as an answer, not as events).
          const b = ev.body || {};
          if (fresh && b.type === 'message' && b.from === 'client') this.signal('att.new_message');
          return true;
        }
        case 'typing': {
          const c = this.chats.get(ev.conversation);
          if (!c) return false;
          if (ev.role === 'client') this.showTyping(c);
          return true;
        }
        case 'registration_due': {
          let c = this.chats.get(ev.conversation);
          if (!c) {
            // A registration left open (the page was closed, or after logging in again):
            // the form comes back, in front, with a word on why.
            c = this.create(ev.conversation, {}, null, null);
            this.systemNote(c, 's.registration_left_open');
            const current = this.selected && this.chats.get(this.selected);
            if (!current || current.status !== 'active') this.select(c.id);
          }
          this.registrationDue(c);
          return true;
        }
        default:
          return false;
      }
    }

    // A new chat or a new client message gets the counsellor's attention (title, icon,
    // sound) when the page has an attention helper (the counsellor's page does).
    signal(key) {
      if (this.o.attention) this.o.attention.signal(key);
    }

    assigned(ev) {
      this.signal('att.new_chat');
      let c = this.chats.get(ev.conversation);
      if (!c) {
        c = this.create(ev.conversation, ev.profile, ev.history, ev.ends_at);
        c.desk = ev.desk;
        this.renderBanner(c); // now that its desk is known
      } else {
        c.desk = ev.desk || c.desk;
        c.profile = ev.profile || c.profile;
        c.history = ev.history || c.history;
        c.endsAt = ev.ends_at || c.endsAt;
        this.setStatus(c, 'active');
        this.renderBanner(c);
      }
      this.refreshHead(c);
      if (!this.selected || !this.chats.has(this.selected) || this.chats.get(this.selected).status !== 'active') this.select(c.id);
      this.rejoin(c);
      this.notify();
    }

    rejoin(c) {
      return this.o.session.request({ type: 'rejoin', conversation: c.id }).then(
        (answer) => {
          (answer.events || []).forEach((e) => this.onLog(c, { conversation: c.id, seq: e.seq, at: e.at, body: e.body }));
          this.resendPending(c);
        },
        (err) => {
          if (err.code === 'unknown_conversation' && c.status === 'active') {
            this.setStatus(c, 'ended');
            this.systemNote(c, 's.ended_while_away');
          }
        }
      );
    }

    // After logging in again: fetch what was missed in every running chat.
    rejoinAll() {
      this.chats.forEach((c) => {
        if (c.status === 'active') this.rejoin(c);
      });
    }

    // -- building --

    create(id, profile, history, endsAt) {
      const c = {
        id,
        profile: profile || {},
        history: history || null,
        endsAt,
        status: 'active',
        seen: new Set(),
        pending: new Map(),
        unread: 0,
        extended: false,
        lastTyping: 0,
        typingTimer: null,
      };
      this.chats.set(id, c);
      this.buildTab(c);
      this.buildPane(c);
      this.renderBanner(c);
      if (this.o.emptyEl) this.o.emptyEl.hidden = true;
      return c;
    }

    buildTab(c) {
      c.tabLabel = h('span', { class: 'tab-label' });
      c.tabState = h('span', { class: 'tab-state' });
      c.tabUnread = h('span', { class: 'tab-unread', hidden: true });
      c.tab = h('button', { type: 'button', class: 'chat-tab', testid: 'chat-tab', 'data-conversation': c.id, onclick: () => this.select(c.id) }, c.tabLabel, ' ', c.tabState, ' ', c.tabUnread);
      c.tabItem = h('li', {}, c.tab);
      let list = this.o.tabsEl.querySelector('ul');
      if (!list) {
        list = h('ul', { class: 'tab-list' });
        this.o.tabsEl.appendChild(list);
      }
      list.appendChild(c.tabItem);
    }

    buildPane(c) {
      const titleId = I.id('chat-title');
      const logId = I.id('log');
      c.title = h('h3', { id: titleId, class: 'pane-title' });
      c.profileEl = h('p', { class: 'profile', testid: 'client-profile' });
      c.timeEl = h('p', { class: 'time-left', testid: 'time-left' });
      c.banner = h('div', { class: 'banner', testid: 'history-banner', role: 'note' });
      c.log = h('div', { class: 'chat-log', id: logId, testid: 'messages', role: 'log', 'aria-live': 'polite', 'aria-labelledby': titleId, tabindex: '0' });
      c.typing = h('p', { class: 'typing', testid: 'typing', role: 'status' });

      // composer
      c.input = h('textarea', { rows: '3', testid: 'message-input', maxlength: String((this.o.info && this.o.info.max_message_chars) || 4000) });
      const inputId = I.id('msg');
      c.input.id = inputId;
      c.count = h('span', { class: 'char-count', testid: 'char-count' });
      c.composer = h(
        'form',
        { class: 'composer', testid: 'composer', novalidate: true },
        h('label', { for: inputId, class: 'visually-hidden', i18n: 's.message_label' }),
        c.input,
        h('div', { class: 'composer-row' }, c.count, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'send', i18n: 's.send' }))
      );
      c.composer.addEventListener('submit', (ev) => {
        ev.preventDefault();
        this.send(c);
      });
      c.input.addEventListener('input', () => this.typed(c));
      c.input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
          ev.preventDefault();
          c.composer.requestSubmit();
        }
      });
      this.updateCount(c);

      c.tools = h('div', { class: 'tools' }, this.whisperTool(c), this.transferTool(c), this.partnerTool(c), this.extendTool(c));
      c.endBtn = h('button', { type: 'button', class: 'btn btn-danger-quiet', testid: 'end-chat', i18n: 's.end_chat', onclick: () => this.end(c) });
      c.endError = h('p', { class: 'error-text', role: 'alert', testid: 'end-error' });
      c.actions = h('div', { class: 'btn-row' }, c.endBtn);

      c.regSlot = h('div', { class: 'reg-slot' });
      c.registered = h('p', { class: 'notice ok', testid: 'registered', role: 'status', hidden: true });
      c.afterNote = h('p', { class: 'notice', testid: 'after-note', role: 'status', hidden: true });
      c.closeBtn = h('button', { type: 'button', class: 'btn', testid: 'close-chat', i18n: 's.close_chat', hidden: true, onclick: () => this.remove(c) });

      c.pane = h(
        'section',
        { class: 'chat-pane card', testid: 'chat-pane', 'data-conversation': c.id, 'aria-labelledby': titleId, hidden: true },
        h('div', { class: 'pane-head' }, c.title, c.profileEl, c.timeEl),
        c.banner,
        c.log,
        c.typing,
        c.composer,
        c.tools,
        c.endError,
        c.actions,
        c.afterNote,
        c.regSlot,
        c.registered,
        c.closeBtn
      );
      this.o.panesEl.appendChild(c.pane);
    }

    whisperTool(c) {
      const input = h('textarea', { rows: '2', testid: 'whisper-input' });
      const status = h('p', { class: 'tool-status', role: 'status', testid: 'whisper-status' });
      const btn = h('button', { type: 'button', class: 'btn', testid: 'whisper-send', i18n: 's.whisper_send' });
      btn.addEventListener('click', () => {
        const text = input.value.trim();
        if (!text) return;
        btn.disabled = true;
        statusText(status, null);
        this.o.session.request({ type: 'whisper', conversation: c.id, text }).then(
          () => {
            btn.disabled = false;
            input.value = '';
            statusText(status, 's.whisper_sent');
          },
          (err) => {
            btn.disabled = false;
            if (err.code === 'invalid_state') statusText(status, 's.whisper_no_coordinator');
            else errorInto(status, err);
          }
        );
      });
      return h(
        'details',
        { class: 'tool', testid: 'tool-whisper' },
        h('summary', { i18n: 's.tool_whisper' }),
        h('p', { class: 'hint', i18n: 's.whisper_hint' }),
        field('s.whisper_label', input),
        btn,
        status
      );
    }

    transferTool(c) {
      const kind = h('select', { testid: 'transfer-kind' }, option('colleague', 's.transfer_colleague'), option('discipline', 's.transfer_discipline'), option('coordinator', 's.transfer_coordinator'));
      const staff = h('input', { type: 'text', testid: 'transfer-staff', autocomplete: 'off' });
      const disc = h('select', { testid: 'transfer-discipline' }, ['medical', 'paramedical', 'social_work', 'psycho_pedagogical'].map((d) => option(d, 'disc.' + d)));
      const staffField = field('s.transfer_staff', staff, 's.transfer_staff_hint');
      const discField = field('s.transfer_discipline_label', disc);
      discField.hidden = true;
      kind.addEventListener('change', () => {
        staffField.hidden = kind.value !== 'colleague';
        discField.hidden = kind.value !== 'discipline';
      });
      const note = h('textarea', { rows: '3', testid: 'transfer-note' });
      const status = h('p', { class: 'tool-status', role: 'status', testid: 'transfer-status' });
      const btn = h('button', { type: 'button', class: 'btn', testid: 'transfer-send', i18n: 's.transfer_send' });
      btn.addEventListener('click', () => {
        let target;
        if (kind.value === 'colleague') {
          const id = staff.value.trim();
          if (!id) {
            statusText(status, 's.transfer_need_staff');
            staff.focus();
            return;
          }
          target = { kind: 'colleague', staff: id };
        } else if (kind.value === 'discipline') {
          target = { kind: 'discipline', discipline: disc.value };
        } else {
          target = { kind: 'coordinator' };
        }
        btn.disabled = true;
        statusText(status, null);
        this.o.session.request({ type: 'transfer', conversation: c.id, target, note: note.value.trim() }).then(
          (answer) => {
            btn.disabled = false;
            statusText(status, 's.transfer_asked', { to: answer.to });
          },
          (err) => {
            btn.disabled = false;
            errorInto(status, err);
          }
        );
      });
      return h(
        'details',
        { class: 'tool', testid: 'tool-transfer' },
        h('summary', { i18n: 's.tool_transfer' }),
        field('s.transfer_kind', kind),
        staffField,
        discField,
        field('s.transfer_note', note, 's.transfer_note_hint'),
        btn,
        status
      );
    }

    partnerTool(c) {
      const partners = (this.o.info && this.o.info.partners) || [];
      // No partner lines configured (blended chat has none): nothing to offer.
      if (!partners.length) return null;
      const sel = h('select', { testid: 'partner-select' }, partners.map((p) => option(p.id, null, { nl: p.name, en: p.name })));
      const summary = h('textarea', { rows: '3', testid: 'partner-summary' });
      const status = h('p', { class: 'tool-status', role: 'status', testid: 'partner-status' });
      const btn = h('button', { type: 'button', class: 'btn', testid: 'partner-send', i18n: 's.partner_send' });
      btn.addEventListener('click', () => {
        const text = summary.value.trim();
        if (!text) {
          statusText(status, 's.partner_need_summary');
          summary.focus();
          return;
        }
        btn.disabled = true;
        this.o.session.request({ type: 'offer_partner', conversation: c.id, partner: sel.value, summary: text }).then(
          () => {
            btn.disabled = false;
            statusText(status, 's.partner_offered');
          },
          (err) => {
            btn.disabled = false;
            errorInto(status, err);
          }
        );
      });
      const tool = h(
        'details',
        { class: 'tool', testid: 'tool-partner' },
        h('summary', { i18n: 's.tool_partner' }),
        field('s.partner_label', sel),
        field('s.partner_summary', summary, 's.partner_summary_hint'),
        btn,
        status
      );
      if (!partners.length) tool.hidden = true;
      return tool;
    }

    extendTool(c) {
      const reason = h('textarea', { rows: '2', testid: 'extend-reason' });
      const status = h('p', { class: 'tool-status', role: 'status', testid: 'extend-status' });
      const btn = h('button', { type: 'button', class: 'btn', testid: 'extend-send', i18n: 's.extend_send' });
      btn.addEventListener('click', () => {
        const text = reason.value.trim();
        if (!text) {
          statusText(status, 's.extend_need_reason');
          reason.focus();
          return;
        }
        btn.disabled = true;
        this.o.session.request({ type: 'extend', conversation: c.id, reason: text }).then(
          () => {
            c.extended = true;
            statusText(status, 's.extend_done');
          },
          (err) => {
            btn.disabled = false;
            errorInto(status, err);
          }
        );
      });
      c.extendBtn = btn;
      return h(
        'details',
        { class: 'tool', testid: 'tool-extend' },
        h('summary', { i18n: 's.tool_extend' }),
        field('s.extend_reason', reason, 's.extend_hint'),
        btn,
        status
      );
    }

    // A known client (blended chat): no anonymous self-report, no returning-visitor line.
    known(c) {
      return !!(this.o.identified || (this.o.isIdentified && this.o.isIdentified(c.desk)));
    }

    renderBanner(c) {
      const hist = c.history;
      c.banner.textContent = '';
      c.banner.classList.remove('banner-warn');
      if (!hist || this.known(c)) {
        c.banner.hidden = true;
        return;
      }
      c.banner.hidden = false;
      const flags = hist.flags || [];
      if (!hist.chats_in_window && !flags.length) {
        c.banner.appendChild(h('p', { i18n: 's.history_first', vars: { days: hist.window_days } }));
        return;
      }
      c.banner.classList.add('banner-warn');
      if (hist.chats_in_window) c.banner.appendChild(h('p', { class: 'banner-title', i18n: 's.history_returning', vars: { n: hist.chats_in_window, days: hist.window_days } }));
      flags.forEach((f) =>
        c.banner.appendChild(
          h('p', { i18n: 's.history_flag', vars: { kind: { key: 'flag.' + f.kind }, status: { key: 'flagstatus.' + f.status }, when: { sdt: f.created_at } } })
        )
      );
    }

    refreshHead(c) {
      // With several desks (one server for the sector), each chat names its desk.
      const desk = c.desk && this.o.deskName ? this.o.deskName(c.desk) : null;
      const name = desk ? clientName(c.profile) + ' · ' + desk : clientName(c.profile);
      c.title.textContent = name;
      c.profileEl.textContent = this.known(c) ? '' : profileVars(c.profile);
      c.tabLabel.textContent = name;
      I.set(c.tabState, 's.tab_' + c.status);
      if (c.unread > 0) {
        c.tabUnread.hidden = false;
        I.set(c.tabUnread, 's.tab_unread', { n: c.unread });
      } else {
        c.tabUnread.hidden = true;
      }
      this.tickOne(c);
    }

    tickOne(c) {
      if (c.status !== 'active' || !c.endsAt) {
        I.clear(c.timeEl);
        c.timeEl.classList.remove('warn');
        return;
      }
      const left = Math.max(0, Math.round((new Date(c.endsAt).getTime() - Date.now()) / 60000));
      I.set(c.timeEl, 's.time_left', { at: { time: c.endsAt }, n: left });
      c.timeEl.classList.toggle('warn', left <= 10);
    }

    tick() {
      this.chats.forEach((c) => this.tickOne(c));
    }

    select(id) {
      this.selected = id;
      this.chats.forEach((c) => {
        const on = c.id === id;
        c.pane.hidden = !on;
        if (on) c.tab.setAttribute('aria-current', 'true');
        else c.tab.removeAttribute('aria-current');
        if (on) {
          c.unread = 0;
          this.refreshHead(c);
          c.log.scrollTop = c.log.scrollHeight;
        }
      });
    }

    setStatus(c, status) {
      c.status = status;
      c.pane.setAttribute('data-status', status);
      const live = status === 'active';
      c.composer.hidden = !live;
      c.tools.hidden = !live;
      c.actions.hidden = !live;
      if (!live) this.hideTyping(c);
      this.refreshHead(c);
      this.notify();
    }

    notify() {
      if (this.o.onChange) this.o.onChange();
    }

    // -- the log --

    isMine(c, b) {
      if (b.client_msg_id && this.myIds.has(b.client_msg_id)) return true;
      return b.from !== 'client' && b.from !== 'system' && b.author === this.identity.alias;
    }

    onLog(c, e) {
      if (typeof e.seq !== 'number' || c.seen.has(e.seq)) return;
      c.seen.add(e.seq);
      const b = e.body || {};
      if (b.type === 'message' && b.client_msg_id && c.pending.has(b.client_msg_id)) {
        const p = c.pending.get(b.client_msg_id);
        c.pending.delete(b.client_msg_id);
        this.markSent(p.el, e.seq, e.at);
        return;
      }
      if (b.type === 'message' && b.client_msg_id) {
        const known = c.log.querySelector('[data-client-id="' + cssEscape(b.client_msg_id) + '"]');
        if (known) {
          known.setAttribute('data-seq', String(e.seq));
          return;
        }
      }
      const el = renderEntry(e, { isMine: (body) => this.isMine(c, body) });
      insertEntry(c.log, el, e.seq);
      if (b.type === 'message' && b.from === 'client') this.hideTyping(c);
      if (this.selected !== c.id || document.hidden) {
        if (b.type === 'message' || b.type === 'whisper' || b.type === 'time_warning') {
          c.unread += 1;
          this.refreshHead(c);
        }
      }
      this.afterEntry(c, b);
    }

    afterEntry(c, b) {
      const me = this.identity.id;
      switch (b.type) {
        case 'extended':
          if (c.endsAt) c.endsAt = new Date(new Date(c.endsAt).getTime() + b.minutes * 60000).toISOString();
          c.extended = true;
          if (c.extendBtn) c.extendBtn.disabled = true;
          this.tickOne(c);
          break;
        case 'transfer_accepted':
          if (b.from === me && b.to !== me) {
            this.setStatus(c, 'transferred');
            this.after(c, 's.after_transferred', { to: b.to });
          }
          break;
        case 'taken_over':
          if (b.from === me && b.by !== me) {
            this.setStatus(c, 'transferred');
            this.after(c, 's.after_taken_over', { by: b.by });
          }
          break;
        case 'ended':
          if (c.status === 'active') {
            this.setStatus(c, 'ended');
            this.after(c, 's.after_ended');
            c.pending.forEach((p) => this.markFailed(p.el));
            c.pending.clear();
          }
          break;
        default:
          break;
      }
    }

    after(c, key, vars) {
      I.set(c.afterNote, key, vars);
      c.afterNote.hidden = false;
      if (c.status === 'transferred' || (c.status === 'ended' && !c.regDue)) c.closeBtn.hidden = false;
    }

    systemNote(c, key, vars) {
      const el = h('div', { class: 'msg msg-system', testid: 'message', 'data-from': 'system' }, h('p', { i18n: key, vars }));
      c.log.appendChild(el);
      c.log.scrollTop = c.log.scrollHeight;
    }

    // -- typing --

    showTyping(c) {
      I.set(c.typing, 's.typing', { name: clientName(c.profile) });
      if (c.typingTimer) clearTimeout(c.typingTimer);
      c.typingTimer = setTimeout(() => this.hideTyping(c), TYPING_SHOWN_MS);
    }

    hideTyping(c) {
      if (c.typingTimer) clearTimeout(c.typingTimer);
      c.typingTimer = null;
      I.clear(c.typing);
    }

    updateCount(c) {
      const max = (this.o.info && this.o.info.max_message_chars) || 4000;
      const n = Array.from(c.input.value).length;
      I.set(c.count, 'v.char_count', { n, max });
      c.count.classList.toggle('over', n > max);
    }

    typed(c) {
      this.updateCount(c);
      if (c.status !== 'active') return;
      const now = Date.now();
      if (now - c.lastTyping < TYPING_EVERY_MS) return;
      c.lastTyping = now;
      this.o.session.fire({ type: 'typing', conversation: c.id });
    }

    // -- sending --

    send(c) {
      const text = c.input.value.trim();
      const max = (this.o.info && this.o.info.max_message_chars) || 4000;
      if (!text || Array.from(text).length > max || c.status !== 'active') return;
      const id = P.messageId();
      this.myIds.add(id);
      const el = h(
        'div',
        { class: 'msg msg-me', testid: 'message', 'data-from': 'me', 'data-client-id': id },
        h('p', { class: 'msg-author', text: this.identity.alias || '' }),
        h('p', { class: 'msg-text' }, I.linkify(text)),
        h('p', { class: 'msg-meta' }, h('span', { class: 'msg-time' }), ' ', h('span', { class: 'msg-status' }))
      );
      this.markSending(el);
      c.log.appendChild(el);
      c.log.scrollTop = c.log.scrollHeight;
      c.pending.set(id, { text, el });
      c.input.value = '';
      this.updateCount(c);
      this.trySend(c, id);
    }

    trySend(c, id) {
      const p = c.pending.get(id);
      if (!p || !this.o.session.connected) return;
      this.markSending(p.el);
      this.o.session.request({ type: 'send', id, conversation: c.id, text: p.text }).then(
        (ack) => {
          const q = c.pending.get(id);
          if (!q) return;
          c.pending.delete(id);
          c.seen.add(ack.seq);
          this.markSent(q.el, ack.seq, ack.at);
        },
        (err) => {
          if (!c.pending.has(id)) return;
          if (err.code === 'connection_closed') return;
          if (err.code === 'store_unavailable' || err.code === 'rate_limited' || err.code === 'shutting_down') {
            setTimeout(() => this.trySend(c, id), 2000);
            return;
          }
          this.markFailed(p.el, () => this.trySend(c, id));
        }
      );
    }

    resendPending(c) {
      c.pending.forEach((p, id) => this.trySend(c, id));
    }

    markSending(el) {
      el.setAttribute('data-status', 'sending');
      I.set(el.querySelector('.msg-status'), 'v.msg_sending');
      const r = el.querySelector('.msg-retry');
      if (r) r.remove();
    }

    markSent(el, seq, at) {
      el.setAttribute('data-status', 'sent');
      el.setAttribute('data-seq', String(seq));
      el.querySelector('.msg-time').textContent = I.format.time(at);
      I.set(el.querySelector('.msg-status'), 'v.msg_sent');
      const r = el.querySelector('.msg-retry');
      if (r) r.remove();
    }

    markFailed(el, retry) {
      el.setAttribute('data-status', 'failed');
      I.set(el.querySelector('.msg-status'), 'v.msg_failed');
      if (retry && !el.querySelector('.msg-retry')) {
        el.appendChild(h('button', { type: 'button', class: 'btn btn-small msg-retry', testid: 'message-retry', i18n: 'v.msg_retry', onclick: retry }));
      }
    }

    // -- the end --

    end(c) {
      c.endBtn.disabled = true;
      I.clear(c.endError);
      this.o.session.request({ type: 'end', conversation: c.id }).then(
        () => {
          c.endBtn.disabled = false;
        },
        (err) => {
          c.endBtn.disabled = false;
          errorInto(c.endError, err);
        }
      );
    }

    registrationDue(c) {
      c.regDue = true;
      if (c.status === 'active') this.setStatus(c, 'ended');
      c.closeBtn.hidden = true;
      if (c.regForm) return;
      c.regForm = registrationForm(c, this.o.info, (form) =>
        this.o.session.request({ type: 'register', conversation: c.id, form }).then(() => {
          c.regForm.hidden = true;
          c.regDue = false;
          I.set(c.registered, 's.registered');
          c.registered.hidden = false;
          c.closeBtn.hidden = false;
          this.setStatus(c, 'registered');
          c.closeBtn.focus();
          if (this.o.onRegistered) this.o.onRegistered(c.id);
        })
      );
      c.regSlot.appendChild(c.regForm);
      this.setStatus(c, 'due');
      if (this.selected === c.id) c.regForm.querySelector('select, input').focus();
    }

    remove(c) {
      c.tabItem.remove();
      c.pane.remove();
      this.chats.delete(c.id);
      if (this.selected === c.id) {
        this.selected = null;
        const next = this.chats.keys().next();
        if (!next.done) this.select(next.value);
      }
      if (this.o.emptyEl && !this.chats.size) this.o.emptyEl.hidden = false;
      this.notify();
    }

    // Chats whose registration is still due (a desk may refuse new chats until done).
    dueCount() {
      let n = 0;
      this.chats.forEach((c) => {
        if (c.status === 'due') n += 1;
      });
      return n;
    }
  }

  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(String(s)) : String(s).replace(/["\\]/g, '\\$&');
  }

  // ---- incoming transfer offers -------------------------------------------------------

  class TransferOffers {
    // listEl: a <ul>; emptyEl shown when none.
    constructor(session, listEl, emptyEl) {
      this.session = session;
      this.listEl = listEl;
      this.emptyEl = emptyEl;
      this.items = new Map();
    }

    add(ev) {
      if (this.items.has(ev.conversation)) return;
      const status = h('p', { class: 'tool-status', role: 'status' });
      const accept = h('button', { type: 'button', class: 'btn btn-primary', testid: 'transfer-accept', 'data-conversation': ev.conversation, i18n: 's.offer_accept' });
      const decline = h('button', { type: 'button', class: 'btn', testid: 'transfer-decline', 'data-conversation': ev.conversation, i18n: 's.offer_decline' });
      const li = h(
        'li',
        { class: 'offer', testid: 'transfer-offer', 'data-conversation': ev.conversation },
        h('p', { class: 'offer-from', i18n: 's.offer_from', vars: { from: ev.from } }),
        ev.note ? h('blockquote', { class: 'summary', text: ev.note }) : null,
        h('div', { class: 'btn-row' }, accept, decline),
        status
      );
      const answer = (yes) => {
        accept.disabled = true;
        decline.disabled = true;
        this.session.request({ type: 'answer_transfer', conversation: ev.conversation, accept: yes }).then(
          () => this.remove(ev.conversation),
          (err) => {
            accept.disabled = false;
            decline.disabled = false;
            errorInto(status, err);
            if (err.code === 'not_yours' || err.code === 'unknown_conversation') setTimeout(() => this.remove(ev.conversation), 4000);
          }
        );
      };
      accept.addEventListener('click', () => answer(true));
      decline.addEventListener('click', () => answer(false));
      this.items.set(ev.conversation, li);
      this.listEl.appendChild(li);
      if (this.emptyEl) this.emptyEl.hidden = true;
    }

    remove(conversation) {
      const li = this.items.get(conversation);
      if (li) li.remove();
      this.items.delete(conversation);
      if (this.emptyEl && !this.items.size) this.emptyEl.hidden = false;
    }
  }

  // ---- shift helpers ------------------------------------------------------------------

  // Shift times are Brussels wall-clock times, whatever the computer's own time zone.
  const TZ = 'Europe/Brussels';
  const partsFmt = new Intl.DateTimeFormat('en-GB', {
    timeZone: TZ,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

  function brussels(date) {
    const p = {};
    partsFmt.formatToParts(date).forEach((x) => {
      p[x.type] = Number(x.value);
    });
    return p;
  }

  // Milliseconds Brussels is ahead of UTC at an instant.
  function offsetAt(ms) {
    const p = brussels(new Date(ms));
    return Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
  }

  // A Brussels wall-clock time as an instant.
  function fromBrussels(y, mo, d, h, mi) {
    const guess = Date.UTC(y, mo - 1, d, h, mi);
    let at = guess - offsetAt(guess);
    at = guess - offsetAt(at);
    return new Date(at);
  }

  function hhmm(date) {
    const p = brussels(date);
    return String(p.hour % 24).padStart(2, '0') + ':' + String(p.minute).padStart(2, '0');
  }

  // "HH:MM" (Brussels) as the next such moment from now.
  function nextAt(text) {
    const m = /^(\d{1,2}):(\d{2})$/.exec(text || '');
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return null;
    const today = brussels(new Date());
    let at = fromBrussels(today.year, today.month, today.day, Number(m[1]), Number(m[2]));
    if (at.getTime() <= Date.now()) {
      const next = brussels(new Date(at.getTime() + 24 * 3600000));
      at = fromBrussels(next.year, next.month, next.day, Number(m[1]), Number(m[2]));
    }
    return at;
  }

  function durationVars(ms) {
    const total = Math.max(0, Math.round(ms / 60000));
    return { h: Math.floor(total / 60), m: total % 60 };
  }

  // Sticky elements sit just below the sticky top bar, whose height wraps on narrow
  // screens: keep --topbar-h in step with it.
  (function trackTopbar() {
    const bar = document.querySelector('.topbar');
    if (!bar || !window.ResizeObserver) return;
    const set = () => document.documentElement.style.setProperty('--topbar-h', bar.offsetHeight + 'px');
    new ResizeObserver(set).observe(bar);
    set();
  })();

  // Every staff page: the login form, or (logged in) the page itself with who is logged in
  // and the way out.
  function showDesk(on) {
    const $ = (id) => document.getElementById(id);
    $('view-login').hidden = on;
    $('view-desk').hidden = !on;
    $('logout').hidden = !on;
    $('me').hidden = !on;
  }

  // The desks among `ids` that this server hosts, with their names, each asked at
  // /api/info (which knows the desks in force): [{id, name, byAppointment}]. A desk the
  // server does not host, or cannot say just now, is left out.
  async function desksHere(ids) {
    const found = [];
    for (const id of ids || []) {
      try {
        const r = await fetch('/api/info?desk=' + encodeURIComponent(id), { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (!r.ok) continue;
        const d = (await r.json()).desk;
        if (d) found.push({ id: d.id, name: d.name, byAppointment: !!d.by_appointment });
      } catch (e) {
        // left out
      }
    }
    return found;
  }

  window.ClbStaff = {
    desksHere,
    showDesk,
    Session,
    registrationForm,
    Workspace,
    TransferOffers,
    wireLogin,
    setConnState,
    renderEntry,
    insertEntry,
    field,
    checkbox,
    option,
    statusText,
    errorInto,
    clientName,
    profileVars,
    hhmm,
    nextAt,
    durationVars,
  };
})();
