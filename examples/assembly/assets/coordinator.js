// clbchat: the coordinator's page. The live board, observing and whispering, taking a chat
// over (it then runs in the same chat workspace as on the counsellor page), flags to
// review, the calendar and the accounts. The sector's administrator gets the same page
// without a desk's live parts: the centres, every account, and the report of every centre
// (elements marked `data-for` are shown only to the roles it names, space-separated).
'use strict';

(function () {
  const I = window.ClbI18n;
  const P = window.ClbProto;
  const St = window.ClbStaff;
  const h = I.h;
  const $ = (id) => document.getElementById(id);
  const short = (id) => String(id || '').slice(0, 8);

  const S = {
    info: null,
    desk: 'clbchat',
    userId: null,
    workspace: null,
    offers: null,
    boardTimer: null,
    flagsTimer: null,
    observed: new Map(), // conversation -> {pane, log, seen, ended}
    takingOver: new Set(),
    accounts: [],
    admin: false,
    centres: [],
    audit: { entries: [], erasures: [], from: '', to: '', desk: '' },
    // The feedback at the desk (see loadFeedback), and the chat being read (a scan's pick or
    // a chat whose counsellor asked for feedback).
    feedback: [],
    reading: null,
    // The last staffing plan (`staffing_plan`), for its schedule's download.
    plan: null,
    // The coordinator's desks on this server ({id, name}), see loadMyDesks.
    myDesks: [],
    editingCentre: null,
    centreIdTouched: false,
    editing: null,
    runningRows: new Map(),
    counsellorRows: new Map(),
    pendingRows: new Map(),
    lastBoard: null,
  };

  const session = new St.Session({ onLoggedIn, onLoggedOut, onEvent, onConnState: St.setConnState });

  // ---- login --------------------------------------------------------------------------

  const showDesk = St.showDesk;

  function onLoggedIn(identity, again) {
    if (identity.role !== 'coordinator' && identity.role !== 'administrator') {
      session.logout();
      showDesk(false);
      const notice = $('login-notice');
      notice.textContent = '';
      notice.appendChild(h('p', { i18n: 'k.not_coordinator' }));
      notice.appendChild(h('a', { href: '/counsellor', testid: 'not-coordinator', i18n: 'k.to_counsellor_page' }));
      notice.hidden = false;
      return;
    }
    if (!S.workspace || S.userId !== identity.id) resetWorkspace();
    S.userId = identity.id;
    S.admin = identity.role === 'administrator';
    document.querySelectorAll('[data-for]').forEach((el) => {
      el.hidden = !el.getAttribute('data-for').split(' ').includes(identity.role);
    });
    I.set(document.querySelector('.brand-sub'), S.admin ? 'k.sub_sector' : 'k.sub');
    if (S.admin) {
      showDesk(true);
      $('login-notice').hidden = true;
      I.set($('me'), 's.me', { alias: identity.alias, id: identity.id, role: { key: 'role.' + identity.role } });
      stopTimers();
      showAccountDesks();
      fillAuditDesks();
      if (!again) {
        loadCentres();
        loadAccounts();
      }
      return;
    }
    // A server of centres has no desk of its own: the staff member's (first) desk.
    if (!(S.info && S.info.desk) && identity.desks && identity.desks.length) S.desk = identity.desks[0];
    showDesk(true);
    $('login-notice').hidden = true;
    I.set($('me'), 's.me', { alias: identity.alias, id: identity.id, role: { key: 'role.' + identity.role } });
    applyPresence();
    if (again) {
      S.workspace.rejoinAll();
      S.observed.forEach((o, conv) => {
        if (!o.ended) observe(conv, true);
      });
    }
    startTimers();
    if (!again) {
      loadFlags();
      loadCalendar();
      loadEvents();
      loadMyDesks(identity).then(loadAccounts);
      loadFeedback();
    }
  }

  function onLoggedOut(reasonKey) {
    stopTimers();
    showDesk(false);
    const notice = $('login-notice');
    notice.textContent = '';
    notice.appendChild(h('p', { i18n: reasonKey }));
    notice.hidden = false;
  }

  function resetWorkspace() {
    $('chat-tabs').textContent = '';
    $('chat-panes').textContent = '';
    $('transfer-offers').textContent = '';
    S.workspace = new St.Workspace({
      session,
      info: S.info,
      tabsEl: $('chat-tabs'),
      panesEl: $('chat-panes'),
      emptyEl: $('own-empty'),
    });
    S.offers = new St.TransferOffers(session, $('transfer-offers'), $('offers-empty'));
  }

  function startTimers() {
    stopTimers();
    loadBoard();
    S.boardTimer = setInterval(loadBoard, 5000);
    S.flagsTimer = setInterval(loadFlags, 60000);
  }

  function stopTimers() {
    if (S.boardTimer) clearInterval(S.boardTimer);
    if (S.flagsTimer) clearInterval(S.flagsTimer);
    S.boardTimer = null;
    S.flagsTimer = null;
  }

  // ---- events -------------------------------------------------------------------------

  function onEvent(ev) {
    if (ev.event === 'chat_assigned') {
      S.takingOver.delete(ev.conversation);
      dropObserved(ev.conversation);
    }
    if (S.workspace && S.workspace.onEvent(ev)) return;
    if (ev.event === 'transfer_requested') {
      S.offers.add(ev);
      return;
    }
    if (ev.event === 'log') {
      if (S.takingOver.has(ev.conversation)) return; // the rejoin after chat_assigned brings it
      let o = S.observed.get(ev.conversation);
      if (!o) {
        // A counsellor asked for help: the engine sends us the chat so far.
        o = observedPane(ev.conversation, true);
      }
      addObserved(o, ev);
    }
  }

  // ---- presence -----------------------------------------------------------------------

  async function applyPresence() {
    const reachable = $('coord-reachable').checked;
    const available = $('coord-available').checked;
    I.clear($('presence-error'));
    try {
      if (reachable) {
        await session.request({ type: 'online', desk: S.desk, shift_ends_at: null });
        await session.request({ type: 'available', desk: S.desk, available });
      } else {
        await session.request({ type: 'offline', desk: S.desk });
      }
    } catch (err) {
      St.errorInto($('presence-error'), err);
    }
    $('coord-available').disabled = !reachable;
  }

  // ---- the board ----------------------------------------------------------------------

  function loadBoard() {
    if (!session.connected) return;
    session.request({ type: 'board', desk: S.desk }).then(
      (answer) => {
        I.clear($('board-error'));
        renderBoard(answer.board || {});
      },
      (err) => St.errorInto($('board-error'), err)
    );
  }

  function renderBoard(b) {
    S.lastBoard = b;
    I.set($('board-updated'), 'k.updated_at', { at: { time: new Date().toISOString() } });
    I.set($('board-status'), b.open ? 'k.board_open' : 'k.board_closed', {
      q: b.queue_length || 0,
      wait: Math.round((b.longest_wait_secs || 0) / 60),
      n: (b.counsellors || []).filter((c) => c.connected !== false).length,
      chats: (b.running || []).length,
    });

    const warn = $('coverage-warnings');
    warn.textContent = '';
    const warnings = b.warnings || [];
    if (!warnings.length && !(b.login_failures || []).length) warn.appendChild(h('li', { class: 'ok', i18n: 'k.no_warnings' }));
    warnings.forEach((w) => {
      const key = w.kind === 'too_few_counsellors' ? 'k.warn_too_few' : w.kind === 'no_medical_counsellor' ? 'k.warn_no_medical' : 'k.warn_other';
      warn.appendChild(h('li', { class: 'warn', testid: 'coverage-warning', 'data-kind': w.kind, i18n: key, vars: { online: w.online, minimum: w.minimum, kind: w.kind } }));
    });
    (b.login_failures || []).forEach((f) => {
      warn.appendChild(h('li', { class: 'warn', testid: 'login-failures', 'data-user': f.username, i18n: 'k.warn_login_failures', vars: { user: f.username, n: f.last_hour, m: f.minutes_ago } }));
    });

    // Rows are updated in place, so a focused button keeps its focus across refreshes.
    syncRows($('board-counsellors'), S.counsellorRows, b.counsellors || [], (c) => c.staff, buildCounsellorRow, fillCounsellorRow, 6, 'k.none_online');
    const pending = [];
    (b.counsellors || []).forEach((c) => (c.pending_registrations || []).forEach((conv) => pending.push({ conv, c })));
    syncPending(pending);
    syncRows($('board-running'), S.runningRows, b.running || [], (r) => r.conversation, buildRunningRow, fillRunningRow, 5, 'k.none_running');
  }

  function syncRows(tbody, rows, items, keyOf, build, fill, cols, emptyKey) {
    const keys = new Set(items.map(keyOf));
    rows.forEach((tr, key) => {
      if (!keys.has(key)) {
        tr.remove();
        rows.delete(key);
      }
    });
    const empty = tbody.querySelector('.empty-row');
    if (!items.length) {
      if (!empty) tbody.appendChild(h('tr', { class: 'empty-row' }, h('td', { colspan: String(cols), i18n: emptyKey })));
    } else if (empty) {
      empty.remove();
    }
    items.forEach((item) => {
      const key = keyOf(item);
      let tr = rows.get(key);
      if (!tr) {
        tr = build(item);
        rows.set(key, tr);
        tbody.appendChild(tr);
      }
      fill(tr, item);
    });
  }

  function buildCounsellorRow(c) {
    return h('tr', { testid: 'board-counsellor', 'data-staff': c.staff }, h('td'), h('td'), h('td'), h('td'), h('td'), h('td'));
  }

  function fillCounsellorRow(tr, c) {
    const td = tr.children;
    td[0].textContent = c.alias + ' (' + c.staff + ')';
    I.set(td[1], 'disc.' + c.discipline);
    td[2].textContent = c.load + ' / ' + c.capacity;
    const status = c.status || (c.available ? 'available' : 'paused');
    const away = Math.floor((c.away_secs || 0) / 60);
    I.set(td[3], status === 'disconnected' && away === 0 ? 'k.status_disconnected_now' : 'k.status_' + status, { m: away });
    td[3].dataset.status = status;
    tr.classList.toggle('row-away', status === 'disconnected' || status === 'offline');
    td[4].textContent = String(c.registrations_due || 0);
    if (c.shift_ends_at) I.set(td[5], 'k.at_time', { at: { time: c.shift_ends_at } });
    else I.set(td[5], 'k.dash');
  }

  // Registrations that counsellors still owe, each to fill in for them (recorded under
  // the counsellor who served) or to release (the chat stays unregistered).
  function syncPending(items) {
    const list = $('pending-registrations');
    const keys = new Set(items.map((p) => p.conv));
    S.pendingRows.forEach((li, key) => {
      if (!keys.has(key)) {
        li.remove();
        S.pendingRows.delete(key);
      }
    });
    $('pending-section').hidden = !items.length;
    items.forEach(({ conv, c }) => {
      if (S.pendingRows.has(conv)) return;
      const status = h('p', { class: 'tool-status', role: 'status' });
      const slot = h('div');
      const fill = h('button', { type: 'button', class: 'btn btn-small', testid: 'fill-registration-' + conv, i18n: 'k.fill_registration', onclick: () => {
        fill.disabled = true;
        slot.appendChild(St.registrationForm({ id: conv, profile: {} }, S.info, (form) =>
          session.request({ type: 'register', conversation: conv, form }).then(() => {
            I.set(status, 'k.registration_saved');
            loadBoard();
          })
        ));
        const first = slot.querySelector('select, input');
        if (first) first.focus();
      } });
      const release = h('button', { type: 'button', class: 'btn btn-small', testid: 'release-registration-' + conv, i18n: 'k.release_registration', onclick: () => {
        release.disabled = true;
        session.request({ type: 'release_registration', conversation: conv }).then(
          () => {
            I.set(status, 'k.registration_released');
            loadBoard();
          },
          (err) => {
            release.disabled = false;
            St.errorInto(status, err);
          }
        );
      } });
      const li = h('li', { testid: 'pending-registration', 'data-conversation': conv },
        h('span', { i18n: 'k.pending_of', vars: { name: c.alias, chat: short(conv) } }), ' ', fill, ' ', release, status, slot);
      S.pendingRows.set(conv, li);
      list.appendChild(li);
    });
  }

  function buildRunningRow(r) {
    const conv = r.conversation;
    const observeBtn = h('button', { type: 'button', class: 'btn btn-small', testid: 'observe-' + conv, 'data-conversation': conv, i18n: 'k.observe', onclick: () => observe(conv, false) });
    const takeBtn = h('button', { type: 'button', class: 'btn btn-small', testid: 'take-over-' + conv, 'data-conversation': conv, i18n: 'k.take_over', onclick: (ev) => takeOver(conv, ev.currentTarget) });
    return h('tr', { testid: 'running-chat', 'data-conversation': conv }, h('td', { class: 'mono' }), h('td'), h('td'), h('td'), h('td', { class: 'actions' }, observeBtn, ' ', takeBtn));
  }

  function fillRunningRow(tr, r) {
    const td = tr.children;
    td[0].textContent = short(r.conversation);
    td[0].setAttribute('title', r.conversation);
    td[1].textContent = r.counsellor || '—';
    I.set(td[2], 'k.minutes', { n: r.minutes });
    I.set(td[3], r.reconnecting ? 'k.reconnecting' : 'k.connected');
    td[3].classList.toggle('warn-text', !!r.reconnecting);
    const mine = r.counsellor === S.userId;
    tr.querySelector('[data-testid^="take-over-"]').disabled = mine;
  }

  // ---- observing ----------------------------------------------------------------------

  function observedPane(conv, help) {
    const titleId = I.id('obs-title');
    const log = h('div', { class: 'chat-log', testid: 'messages', role: 'log', 'aria-live': 'polite', 'aria-labelledby': titleId, tabindex: '0' });
    const whisper = h('textarea', { rows: '2', testid: 'whisper-input' });
    const status = h('p', { class: 'tool-status', role: 'status', testid: 'whisper-status' });
    const sendBtn = h('button', { type: 'button', class: 'btn', testid: 'whisper-send', i18n: 'k.whisper_send' });
    const takeBtn = h('button', { type: 'button', class: 'btn', testid: 'observed-take-over', i18n: 'k.take_over' });
    const closeBtn = h('button', { type: 'button', class: 'btn btn-quiet', testid: 'observed-close', i18n: 'k.stop_observing' });
    const counsellor = S.lastBoard && (S.lastBoard.running || []).find((r) => r.conversation === conv);
    const pane = h(
      'section',
      { class: 'observe-pane' + (help ? ' help' : ''), testid: 'observed-chat', 'data-conversation': conv, 'aria-labelledby': titleId },
      h('h3', { id: titleId, i18n: help ? 'k.help_title' : 'k.observe_title', vars: { chat: short(conv), counsellor: (counsellor && counsellor.counsellor) || '—' } }),
      log,
      St.field('k.whisper_label', whisper, 'k.whisper_hint'),
      h('div', { class: 'btn-row' }, sendBtn, takeBtn, closeBtn),
      status
    );
    const o = { conv, pane, log, seen: new Set(), ended: false, takeBtn, sendBtn };
    sendBtn.addEventListener('click', () => {
      const text = whisper.value.trim();
      if (!text) return;
      sendBtn.disabled = true;
      session.request({ type: 'whisper', conversation: conv, text }).then(
        () => {
          sendBtn.disabled = false;
          whisper.value = '';
          St.statusText(status, 'k.whisper_sent');
        },
        (err) => {
          sendBtn.disabled = false;
          St.errorInto(status, err);
        }
      );
    });
    takeBtn.addEventListener('click', () => takeOver(conv, takeBtn));
    closeBtn.addEventListener('click', () => dropObserved(conv));
    S.observed.set(conv, o);
    $('observed-panes').appendChild(pane);
    $('observed-empty').hidden = true;
    if (help) {
      const notice = $('help-notice');
      I.set(notice, 'k.help_notice', { chat: short(conv) });
      notice.hidden = false;
    }
    return o;
  }

  function addObserved(o, e) {
    if (typeof e.seq !== 'number' || o.seen.has(e.seq)) return;
    o.seen.add(e.seq);
    const el = St.renderEntry(e, { isMine: () => false });
    St.insertEntry(o.log, el, e.seq);
    const b = e.body || {};
    if (b.type === 'ended') {
      o.ended = true;
      o.takeBtn.disabled = true;
      o.sendBtn.disabled = true;
      o.pane.setAttribute('data-status', 'ended');
    }
  }

  function observe(conv, again) {
    let o = S.observed.get(conv);
    if (!o) o = observedPane(conv, false);
    session.request({ type: 'observe', conversation: conv }).then(
      (answer) => {
        (answer.events || []).forEach((e) => addObserved(o, e));
        if (!again) o.log.focus();
      },
      (err) => {
        const status = o.pane.querySelector('[data-testid="whisper-status"]');
        St.errorInto(status, err);
        if (err.code === 'unknown_conversation') {
          o.ended = true;
          o.takeBtn.disabled = true;
          o.sendBtn.disabled = true;
        }
      }
    );
  }

  function dropObserved(conv) {
    const o = S.observed.get(conv);
    if (!o) return;
    o.pane.remove();
    S.observed.delete(conv);
    if (!S.observed.size) {
      $('observed-empty').hidden = false;
      $('help-notice').hidden = true;
    }
  }

  function takeOver(conv, button) {
    if (button) button.disabled = true;
    S.takingOver.add(conv);
    session.request({ type: 'take_over', conversation: conv }).then(
      () => {
        if (button) button.disabled = false;
        $('own-section').scrollIntoView({ block: 'start' });
      },
      (err) => {
        S.takingOver.delete(conv);
        if (button) button.disabled = false;
        const o = S.observed.get(conv);
        const target = o ? o.pane.querySelector('[data-testid="whisper-status"]') : $('board-error');
        St.errorInto(target, err);
      }
    );
  }

  // ---- flags --------------------------------------------------------------------------

  function loadFlags() {
    if (!session.connected) return;
    session.request({ type: 'flags', desk: S.desk }).then(
      (answer) => renderFlags(answer.flags || []),
      (err) => St.errorInto($('flags-status'), err)
    );
  }

  function renderFlags(flags) {
    const list = $('flag-list');
    list.textContent = '';
    if (!flags.length) {
      I.set($('flags-status'), 'k.flags_none');
      return;
    }
    flags.forEach((f) => list.appendChild(flagItem(f)));
    updateFlagCount();
  }

  function updateFlagCount() {
    const open = $('flag-list').querySelectorAll('[data-testid="flag"][data-status="open"]').length;
    if (open) I.set($('flags-status'), 'k.flags_count', { n: open });
    else I.set($('flags-status'), 'k.flags_none');
  }

  function flagItem(f) {
    const status = h('p', { class: 'tool-status', role: 'status' });
    const confirm = h('button', { type: 'button', class: 'btn btn-small', testid: 'flag-confirm-' + f.id, i18n: 'k.flag_confirm' });
    const dismiss = h('button', { type: 'button', class: 'btn btn-small', testid: 'flag-dismiss-' + f.id, i18n: 'k.flag_dismiss' });
    const read = f.conversation ? h('button', { type: 'button', class: 'btn btn-small btn-quiet', testid: 'flag-transcript-' + f.id, i18n: 'k.flag_read' }) : null;
    const li = h(
      'li',
      { class: 'flag', testid: 'flag', 'data-flag': f.id, 'data-status': f.status },
      h('p', { class: 'flag-title', i18n: 'k.flag_line', vars: { kind: { key: 'flag.' + f.kind }, status: { key: 'flagstatus.' + f.status } } }),
      h(
        'p',
        { class: 'muted', i18n: 'k.flag_meta', vars: { by: f.raised_by || I.t('k.flag_by_system'), when: { sdt: f.created_at }, until: { sdt: f.expires_at }, who: String(f.pseudonym || '').slice(0, 14) } }
      ),
      h('div', { class: 'btn-row' }, confirm, dismiss, read),
      status
    );
    const review = (yes) => {
      confirm.disabled = true;
      dismiss.disabled = true;
      session.request({ type: 'review_flag', flag: f.id, confirm: yes }).then(
        (answer) => {
          const updated = (answer.flags || [])[0] || f;
          li.setAttribute('data-status', updated.status);
          li.querySelector('.flag-title').setAttribute('data-i18n-vars', JSON.stringify({ kind: { key: 'flag.' + updated.kind }, status: { key: 'flagstatus.' + updated.status } }));
          I.apply(li);
          // Reviewed: nothing left to decide here, and one fewer to review.
          confirm.remove();
          dismiss.remove();
          St.statusText(status, yes ? 'k.flag_confirmed' : 'k.flag_dismissed');
          updateFlagCount();
        },
        (err) => {
          confirm.disabled = false;
          dismiss.disabled = false;
          St.errorInto(status, err);
        }
      );
    };
    confirm.addEventListener('click', () => review(true));
    dismiss.addEventListener('click', () => review(false));
    if (read) {
      // Reading a chat is logged with its reason: ask for it first.
      const reasonId = I.id('reason');
      const reason = h('input', { type: 'text', id: reasonId, testid: 'transcript-reason-' + f.id, maxlength: '200', autocomplete: 'off' });
      const go = h('button', { type: 'submit', class: 'btn btn-small btn-primary', testid: 'transcript-open-' + f.id, i18n: 'k.transcript_open' });
      const ask = h('form', { class: 'reason-form', hidden: true, novalidate: true },
        h('label', { for: reasonId, i18n: 'k.transcript_reason' }), reason, go);
      ask.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const why = reason.value.trim();
        if (!why) {
          I.set(status, 'k.transcript_reason_missing');
          reason.focus();
          return;
        }
        readTranscript(f, status, why);
      });
      read.addEventListener('click', () => {
        ask.hidden = false;
        reason.focus();
      });
      li.insertBefore(ask, status);
    }
    return li;
  }

  function readTranscript(f, status, why) {
    session.request({ type: 'transcript', conversation: f.conversation, purpose: 'flag_review', note: why }).then(
      (answer) => {
        const log = $('transcript-log');
        log.textContent = '';
        (answer.events || []).forEach((e) => St.insertEntry(log, St.renderEntry(e, { isMine: () => false }), e.seq));
        if (!(answer.events || []).length) log.appendChild(h('p', { class: 'muted', i18n: 'k.transcript_empty' }));
        $('transcript').hidden = false;
        log.focus();
      },
      (err) => St.errorInto(status, err)
    );
  }

  // ---- the calendar -------------------------------------------------------------------

  const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

  function removeButton(row, labelKey) {
    return h('button', { type: 'button', class: 'btn btn-small btn-quiet', testid: 'calendar-remove', i18n: labelKey || 'k.remove', onclick: () => row.remove() });
  }

  function smallField(labelKey, control) {
    return St.field(labelKey, control);
  }

  function hoursRow(hrs) {
    const day = h('select', { 'data-k': 'day' }, DAYS.map((d) => St.option(d, 'day.' + d)));
    day.value = (hrs && String(hrs.day).slice(0, 3).toLowerCase()) || 'mon';
    const open = h('input', { type: 'time', 'data-k': 'open', value: (hrs && hrs.open) || '17:00' });
    const closeVal = hrs && hrs.close ? (hrs.close.startsWith('24:00') ? '00:00' : hrs.close) : '21:00';
    const close = h('input', { type: 'time', 'data-k': 'close', value: closeVal });
    const row = h('div', { class: 'row hours-row', testid: 'calendar-hours-row' });
    row.append(smallField('k.cal_day', day), smallField('k.cal_open', open), smallField('k.cal_close', close), removeButton(row));
    return row;
  }

  function hoursEditor(list) {
    const box = h('div', { class: 'rows hours' });
    (list || []).forEach((x) => box.appendChild(hoursRow(x)));
    return box;
  }

  function readHours(box) {
    return Array.from(box.querySelectorAll(':scope > .hours-row')).map((row) => ({
      day: row.querySelector('[data-k="day"]').value,
      open: row.querySelector('[data-k="open"]').value,
      close: row.querySelector('[data-k="close"]').value,
    }));
  }

  function holidayRow(p) {
    const name = h('input', { type: 'text', 'data-k': 'name', value: (p && p.name) || '' });
    const from = h('input', { type: 'date', 'data-k': 'from', value: (p && p.from) || '' });
    const to = h('input', { type: 'date', 'data-k': 'to', value: (p && p.to) || '' });
    const hours = hoursEditor(p ? p.hours : DAYS.slice(0, 4).map((d) => ({ day: d, open: '14:00', close: '21:00' })));
    const add = h('button', { type: 'button', class: 'btn btn-small', testid: 'calendar-holiday-hours-add', i18n: 'k.cal_add_hours', onclick: () => hours.appendChild(hoursRow(null)) });
    const row = h('fieldset', { class: 'row holiday-row', testid: 'calendar-holiday-row' });
    row.append(
      h('legend', { i18n: 'k.cal_holiday' }),
      h('div', { class: 'field-row' }, smallField('k.cal_name', name), smallField('k.cal_from', from), smallField('k.cal_to', to)),
      hours,
      h('div', { class: 'btn-row' }, add, removeButton(row, 'k.cal_remove_holiday'))
    );
    return row;
  }

  function closureRow(c) {
    const name = h('input', { type: 'text', 'data-k': 'name', value: (c && c.name) || '' });
    const from = h('input', { type: 'date', 'data-k': 'from', value: (c && c.from) || '' });
    const to = h('input', { type: 'date', 'data-k': 'to', value: (c && c.to) || '' });
    const row = h('div', { class: 'row', testid: 'calendar-closure-row' });
    row.append(smallField('k.cal_name', name), smallField('k.cal_from', from), smallField('k.cal_to', to), removeButton(row));
    return row;
  }

  function eventRow(w) {
    const name = h('input', { type: 'text', 'data-k': 'name', value: (w && w.name) || '' });
    const welcome = h('input', { type: 'text', 'data-k': 'welcome', value: (w && w.welcome) || '' });
    const start = h('input', { type: 'datetime-local', 'data-k': 'start', value: (w && String(w.start).slice(0, 16)) || '' });
    const end = h('input', { type: 'datetime-local', 'data-k': 'end', value: (w && String(w.end).slice(0, 16)) || '' });
    const row = h('div', { class: 'row', testid: 'calendar-event-row' });
    row.append(smallField('k.cal_name', name), smallField('k.cal_welcome', welcome), smallField('k.cal_start', start), smallField('k.cal_end', end), removeButton(row));
    return row;
  }

  // ---- opening the chat for an event (now, or planned) ---------------------------------

  const pad2 = (n) => String(n).padStart(2, '0');
  const dateOf = (d) => d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate());
  const timeOf = (d) => pad2(d.getHours()) + ':' + pad2(d.getMinutes());

  // A date and time from the form (this computer's local time) as an instant, or null.
  function instantOf(dateId, timeId) {
    const d = $(dateId).value;
    const t = $(timeId).value;
    if (!d || !t) return null;
    const at = new Date(d + 'T' + t);
    return Number.isNaN(at.getTime()) ? null : at.toISOString();
  }

  // "2022-03-10T19:00" for now in time zone `tz`.
  function localNow(tz) {
    try {
      const parts = {};
      new Intl.DateTimeFormat('en-GB', {
        timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
      }).formatToParts(new Date()).forEach((p) => { parts[p.type] = p.value; });
      return parts.year + '-' + parts.month + '-' + parts.day + 'T' + parts.hour + ':' + parts.minute;
    } catch (e) {
      return dateOf(new Date()) + 'T' + timeOf(new Date());
    }
  }

  function eventWhenChanged() {
    $('event-start-row').hidden = !$('event-when-later').checked;
  }

  function defaultEventTimes() {
    const end = new Date(Date.now() + 2 * 3600 * 1000);
    if (!$('event-end-date').value) $('event-end-date').value = dateOf(end);
    if (!$('event-end-time').value) $('event-end-time').value = timeOf(end);
  }

  function loadEvents() {
    I.clear($('event-error'));
    defaultEventTimes();
    // A centre's box (a server without a desk of its own): the snippet for its website.
    const box = !(S.info && S.info.desk) && S.desk;
    $('embed-box').hidden = !box;
    if (box) {
      $('embed-snippet').value = '<script src="' + location.origin + '/c/' + encodeURIComponent(S.desk) + '/embed.js" async></script>';
    }
    session.request({ type: 'availability', desk: S.desk }).then(
      (answer) => {
        const av = answer.availability || {};
        const now = $('events-now');
        if (av.open && av.event) I.set(now, 'k.events_open_now', { title: av.event.title, until: { sdt: av.event.ends_at } });
        else if (av.open) I.set(now, 'k.events_open_hours');
        else I.set(now, 'k.events_closed');
        $('event-close').hidden = !(av.open && av.event);
      },
      (err) => St.errorInto($('event-error'), err)
    );
    session.request({ type: 'calendar', desk: S.desk }).then(
      (answer) => renderEvents(answer.calendar),
      (err) => St.errorInto($('event-error'), err)
    );
  }

  function renderEvents(cal) {
    const list = $('events-planned');
    I.clear(list);
    // Now as the calendar writes times (its own time zone), to tell begun from planned.
    const nowLocal = localNow((cal && cal.time_zone) || 'Europe/Brussels');
    const coming = ((cal && cal.event_windows) || []).filter((w) => String(w.end) > nowLocal);
    $('events-none').hidden = coming.length > 0;
    coming.forEach((w) => {
      const when = String(w.start).replace('T', ' ') + ' – ' + String(w.end).replace('T', ' ');
      const li = h('li', { testid: 'event-planned' },
        h('span', {}, h('strong', { text: w.name }), ' ', h('span', { class: 'muted', text: when })));
      if (String(w.start) > nowLocal) {
        li.appendChild(h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', testid: 'event-cancel', i18n: 'k.event_cancel', onclick: () => cancelEvent(w) }));
      }
      list.appendChild(li);
    });
  }

  async function openEvent(ev) {
    ev.preventDefault();
    const err = $('event-error');
    I.clear(err);
    const title = $('event-title').value.trim();
    if (!title) {
      I.set(err, 'k.event_need_title');
      $('event-title').focus();
      return;
    }
    const ends = instantOf('event-end-date', 'event-end-time');
    if (!ends) {
      I.set(err, 'k.event_need_end');
      return;
    }
    const event = { title, ends_at: ends };
    const welcome = $('event-welcome').value.trim();
    if (welcome) event.welcome = welcome;
    if ($('event-when-later').checked) {
      const starts = instantOf('event-start-date', 'event-start-time');
      if (!starts) {
        I.set(err, 'k.event_need_start');
        return;
      }
      event.starts_at = starts;
    }
    try {
      await session.request({ type: 'open_event', desk: S.desk, event });
      $('event-title').value = '';
      $('event-welcome').value = '';
      loadEvents();
      loadCalendar();
    } catch (e) {
      St.errorInto(err, e);
    }
  }

  async function closeEvent() {
    I.clear($('event-error'));
    try {
      await session.request({ type: 'close_event', desk: S.desk });
      loadEvents();
      loadCalendar();
    } catch (e) {
      St.errorInto($('event-error'), e);
    }
  }

  async function cancelEvent(w) {
    I.clear($('event-error'));
    if (!window.confirm(I.t('k.event_cancel_confirm', { title: w.name }))) return;
    try {
      await session.request({ type: 'cancel_event', desk: S.desk, start: w.start });
      loadEvents();
      loadCalendar();
    } catch (e) {
      St.errorInto($('event-error'), e);
    }
  }

  function fillCalendar(cal) {
    const c = cal || {};
    $('calendar-timezone').value = c.time_zone || 'Europe/Brussels';
    $('calendar-mode').value = c.mode === 'events_only' ? 'events_only' : 'weekly';
    const weekly = $('calendar-weekly');
    weekly.textContent = '';
    (c.weekly || []).forEach((x) => weekly.appendChild(hoursRow(x)));
    const hol = $('calendar-holidays');
    hol.textContent = '';
    (c.holiday_periods || []).forEach((p) => hol.appendChild(holidayRow(p)));
    const clo = $('calendar-closures');
    clo.textContent = '';
    (c.closures || []).forEach((x) => clo.appendChild(closureRow(x)));
    const ev = $('calendar-events');
    ev.textContent = '';
    (c.event_windows || []).forEach((x) => ev.appendChild(eventRow(x)));
    I.apply($('calendar-form'));
    $('calendar-json').value = JSON.stringify(c, null, 2);
  }

  function readCalendar() {
    const val = (row, k) => row.querySelector('[data-k="' + k + '"]').value.trim();
    return {
      time_zone: $('calendar-timezone').value.trim() || 'Europe/Brussels',
      mode: $('calendar-mode').value,
      weekly: readHours($('calendar-weekly')),
      holiday_periods: Array.from($('calendar-holidays').querySelectorAll(':scope > .holiday-row')).map((row) => ({
        name: val(row, 'name'),
        from: val(row, 'from'),
        to: val(row, 'to'),
        hours: readHours(row.querySelector('.hours')),
      })),
      closures: Array.from($('calendar-closures').children).map((row) => ({ name: val(row, 'name'), from: val(row, 'from'), to: val(row, 'to') })),
      event_windows: Array.from($('calendar-events').children).map((row) => {
        const w = { name: val(row, 'name'), start: val(row, 'start'), end: val(row, 'end') };
        if (val(row, 'welcome')) w.welcome = val(row, 'welcome');
        return w;
      }),
    };
  }

  // Checks what the browser can check; the server checks the rest and names the entry.
  function checkCalendar(cal) {
    const bad = (key, vars) => ({ key, vars });
    for (const x of cal.weekly) if (!x.open || !x.close) return bad('k.cal_bad_hours');
    for (const p of cal.holiday_periods) {
      if (!p.name || !p.from || !p.to) return bad('k.cal_bad_period', { name: p.name || '?' });
      for (const x of p.hours) if (!x.open || !x.close) return bad('k.cal_bad_hours');
    }
    for (const c of cal.closures) if (!c.name || !c.from || !c.to) return bad('k.cal_bad_period', { name: c.name || '?' });
    for (const w of cal.event_windows) if (!w.name || !w.start || !w.end) return bad('k.cal_bad_period', { name: w.name || '?' });
    return null;
  }

  function loadCalendar() {
    I.clear($('calendar-error'));
    session.request({ type: 'calendar', desk: S.desk }).then(
      (answer) => {
        fillCalendar(answer.calendar);
        I.set($('calendar-status'), 'k.cal_loaded');
      },
      (err) => St.errorInto($('calendar-error'), err)
    );
  }

  async function saveCalendar(ev) {
    ev.preventDefault();
    I.clear($('calendar-error'));
    I.clear($('calendar-status'));
    const cal = readCalendar();
    const problem = checkCalendar(cal);
    if (problem) {
      I.set($('calendar-error'), problem.key, problem.vars);
      return;
    }
    const btn = $('calendar-save');
    btn.disabled = true;
    try {
      await session.request({ type: 'set_calendar', desk: S.desk, calendar: cal });
      I.set($('calendar-status'), 'k.cal_saved');
      $('calendar-json').value = JSON.stringify(cal, null, 2);
    } catch (err) {
      St.errorInto($('calendar-error'), err);
    } finally {
      btn.disabled = false;
    }
  }

  function jsonToForm() {
    I.clear($('calendar-error'));
    let cal;
    try {
      cal = JSON.parse($('calendar-json').value);
    } catch (e) {
      I.set($('calendar-error'), 'k.cal_bad_json');
      return;
    }
    if (!cal || typeof cal !== 'object' || Array.isArray(cal)) {
      I.set($('calendar-error'), 'k.cal_bad_json');
      return;
    }
    fillCalendar(cal);
    I.set($('calendar-status'), 'k.cal_json_applied');
  }

  // ---- the annual report ---------------------------------------------------------------
  // The server computes and writes the report (the same as `clbchat report`); the page
  // shows its HTML and downloads the other formats as files.

  const FIRST_SCHOOL_YEAR = 2016;

  function isoDate(d) {
    return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
  }

  function schoolYearOf(d) {
    return d.getMonth() >= 8 ? d.getFullYear() : d.getFullYear() - 1;
  }

  function setSchoolYear(year) {
    $('report-from').value = year + '-09-01';
    $('report-to').value = year + 1 + '-08-31';
  }

  function setupReport() {
    const select = $('report-year');
    const current = schoolYearOf(new Date());
    for (let y = current; y >= FIRST_SCHOOL_YEAR; y--) {
      select.appendChild(h('option', { value: String(y) }, y + '-' + (y + 1)));
    }
    select.appendChild(h('option', { value: '', i18n: 'k.report_other_period' }));
    select.value = String(current);
    setSchoolYear(current);
    select.addEventListener('change', () => {
      if (select.value) setSchoolYear(Number(select.value));
    });
    const mark = () => {
      const y = Number(select.value);
      if (select.value && ($('report-from').value !== y + '-09-01' || $('report-to').value !== y + 1 + '-08-31')) select.value = '';
    };
    $('report-from').addEventListener('change', mark);
    $('report-to').addEventListener('change', mark);
    const box = $('report-theme-topics');
    box.textContent = '';
    ((S.info && S.info.topics) || []).forEach((t) => {
      const id = 'report-topic-' + t.code.replace(/[^a-z0-9]/gi, '-');
      const label = h('label', { for: id });
      const domain = t.domain === 'LS' ? 'L&S' : t.domain;
      I.dual(label, domain + ': ' + t.nl, domain + ': ' + t.en);
      box.appendChild(h('div', { class: 'choice' }, [h('input', { type: 'checkbox', id, value: t.code, testid: 'report-topic-' + t.code }), label]));
    });
    $('report-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      showReport();
    });
    document.querySelectorAll('[data-report-download]').forEach((b) => {
      b.addEventListener('click', () => downloadReport(b.getAttribute('data-report-download'), b));
    });
    I.onChange(() => {
      if ($('report-view').childElementCount > 0) showReport();
    });
  }

  // The frame for the form, or null with the problem shown.
  function reportFrame(format) {
    I.clear($('report-error'));
    const from = $('report-from').value;
    const to = $('report-to').value;
    if (!from || !to) {
      I.set($('report-error'), 'k.report_need_dates');
      return null;
    }
    if (to < from) {
      I.set($('report-error'), 'k.report_dates_order');
      return null;
    }
    const frame = { type: 'report', desk: S.desk, from, to, format, lang: I.lang() };
    // The administrator: one centre, or every one (no desk: the sector's view).
    if (S.admin) {
      if ($('report-desk').value) frame.desk = $('report-desk').value;
      else delete frame.desk;
    }
    const topics = Array.from($('report-theme-topics').querySelectorAll('input:checked')).map((c) => c.value);
    const name = $('report-theme-name').value.trim();
    if (topics.length || name) {
      if (!topics.length) {
        I.set($('report-error'), 'k.report_theme_no_topics');
        return null;
      }
      frame.theme = { name: name || I.t('k.report_theme_default'), topics };
      if ($('report-theme-from').value) frame.theme.from = $('report-theme-from').value;
      if ($('report-theme-to').value) frame.theme.to = $('report-theme-to').value;
    }
    return frame;
  }

  async function showReport() {
    const frame = reportFrame('html_fragment');
    if (!frame) return;
    const btn = $('report-show');
    btn.disabled = true;
    I.set($('report-status'), 'k.report_busy');
    try {
      const answer = await session.request(frame);
      // The server escapes every text it puts in the report; the page takes it as is.
      $('report-view').innerHTML = answer.document.content;
      I.set($('report-status'), 'k.report_shown', { chats: String(answer.data.totals.chats) });
      $('report-view').focus();
    } catch (err) {
      I.clear($('report-status'));
      St.errorInto($('report-error'), err);
    } finally {
      btn.disabled = false;
    }
  }

  async function downloadReport(format, btn) {
    const frame = reportFrame(format);
    if (!frame) return;
    btn.disabled = true;
    try {
      const answer = await session.request(frame);
      const doc = answer.document;
      I.download(doc.file_name, new Blob([doc.content], { type: doc.content_type }));
      I.set($('report-status'), 'k.report_downloaded', { file: doc.file_name });
    } catch (err) {
      St.errorInto($('report-error'), err);
    } finally {
      btn.disabled = false;
    }
  }

  // ---- what the scan and the read audit share: a period of days, a choice of staff ------

  // A date input's value for `d`, in the browser's own calendar.
  const day = (d) => d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');

  // The last 30 days, in a pair of date inputs.
  function lastMonth(fromId, toId) {
    const now = new Date();
    $(toId).value = day(now);
    $(fromId).value = day(new Date(now.getTime() - 30 * 86400000));
  }

  // [from, to) of whole days in the browser's time, from the first day's start to the last
  // day's end (and the days as given), or null with the error said.
  function period(fromId, toId, errEl) {
    const from = $(fromId).value;
    const to = $(toId).value;
    if (!from || !to || from > to) {
      $(fromId).focus();
      I.set(errEl, 'k.audit_bad_period');
      return null;
    }
    const end = new Date(to + 'T00:00:00');
    end.setDate(end.getDate() + 1);
    return { from: new Date(from + 'T00:00:00').toISOString(), to: end.toISOString(), days: [from, to] };
  }

  // The name a staff id goes by, from the accounts the coordinator manages.
  function staffName(id) {
    const a = S.accounts.find((x) => x.identity && x.identity.id === id);
    return a ? a.identity.alias + ' (' + id + ')' : id;
  }

  // The accounts (those `keep` lets through) as options of a select, after its first.
  function fillStaffSelect(select, keep) {
    const chosen = select.value;
    Array.from(select.querySelectorAll('option[data-staff]')).forEach((o) => o.remove());
    S.accounts.forEach((a) => {
      const id = a.identity;
      if (id && keep(id)) select.appendChild(h('option', { value: id.id, 'data-staff': '1', text: staffName(id.id) }));
    });
    select.value = chosen;
  }

  // ---- chat scans: chats drawn at random, read (audited), exported for intervision -------

  async function drawScan(ev) {
    ev.preventDefault();
    const err = $('scan-error');
    I.clear(err);
    const count = Number($('scan-count').value);
    if (!Number.isInteger(count) || count < 1 || count > 20) {
      $('scan-count').focus();
      return I.set(err, 'k.scan_bad_count');
    }
    const p = period('scan-from', 'scan-to', err);
    if (!p) return undefined;
    const frame = { type: 'draw_scan', desk: S.desk, from: p.from, to: p.to, count };
    if ($('scan-counsellor').value) frame.counsellor = $('scan-counsellor').value;
    const btn = $('scan-draw');
    btn.disabled = true;
    try {
      const answer = await session.request(frame);
      renderPicks(answer.picks || [], count);
    } catch (e) {
      St.errorInto(err, e);
    } finally {
      btn.disabled = false;
    }
    return undefined;
  }

  function renderPicks(picks, asked) {
    const list = $('scan-picks');
    list.textContent = '';
    $('scan-transcript').hidden = true;
    if (!picks.length) I.set($('scan-status'), 'k.scan_none', { days: (S.info && S.info.retention_days) || 30 });
    else if (picks.length < asked) I.set($('scan-status'), 'k.scan_fewer', { n: picks.length });
    else I.set($('scan-status'), 'k.scan_count_drawn', { n: picks.length });
    picks.forEach((p) => {
      const minutes = p.started_at && p.ended_at ? Math.round((Date.parse(p.ended_at) - Date.parse(p.started_at)) / 60000) : null;
      const read = h('button', { type: 'button', class: 'btn btn-small', testid: 'scan-read', i18n: 'k.scan_read', onclick: () => readPick(p) });
      const exp = h('button', { type: 'button', class: 'btn btn-small', testid: 'scan-export', i18n: 'k.scan_export', onclick: (e) => exportPick(p, e.currentTarget) });
      list.appendChild(
        h(
          'li',
          { class: 'flag-item', testid: 'scan-pick', 'data-conversation': p.conversation },
          h('p', {
            i18n: 'k.scan_pick',
            vars: { when: { sdt: p.started_at || p.ended_at }, who: p.counsellor ? staffName(p.counsellor) : I.t('k.audit_nobody'), n: minutes === null ? '?' : minutes },
          }),
          h('div', { class: 'btn-row' }, read, exp)
        )
      );
    });
  }

  // The feedback at the desk: questions counsellors asked (open ones first), and what was
  // written, each to read and answer.
  async function loadFeedback() {
    try {
      const answer = await session.request({ type: 'feedback', desk: S.desk });
      S.feedback = answer.feedback || [];
      renderFeedback();
    } catch (e) {
      St.errorInto($('feedback-status'), e);
    }
  }

  function renderFeedback() {
    const list = $('feedback-list');
    list.textContent = '';
    const items = S.feedback.filter((f) => f.asked_at);
    const open = items.filter((f) => !f.text).concat(items.filter((f) => f.text));
    if (!open.length) I.set($('feedback-status'), 'k.feedback_none');
    else I.clear($('feedback-status'));
    open.forEach((f) => {
      const pick = { conversation: f.conversation, counsellor: f.counsellor };
      list.appendChild(
        h(
          'li',
          { class: 'flag', testid: 'feedback-request', 'data-conversation': f.conversation, 'data-answered': f.text ? 'yes' : 'no' },
          h('p', { class: 'flag-title', i18n: 'k.feedback_item', vars: { who: staffName(f.counsellor), when: { sdt: f.asked_at } } }),
          f.question ? h('p', { i18n: 'k.feedback_question', vars: { q: f.question } }) : h('p', { class: 'muted', i18n: 'k.feedback_no_question' }),
          f.text
            ? h('p', { class: 'muted', i18n: 'k.feedback_done', vars: { who: staffName(f.written_by), when: { sdt: f.written_at } } })
            : h('p', { class: 'muted', i18n: 'k.feedback_open' }),
          h('div', { class: 'btn-row' }, h('button', { type: 'button', class: 'btn btn-small', testid: 'feedback-read', i18n: 'k.feedback_read', onclick: () => readPick(pick, 'feedback') }))
        )
      );
    });
  }

  async function saveFeedback(ev) {
    ev.preventDefault();
    const err = $('scan-feedback-error');
    I.clear(err);
    I.clear($('scan-feedback-status'));
    const text = $('scan-feedback').value.trim();
    const p = S.reading;
    if (!p) return undefined;
    if (!text) {
      $('scan-feedback').focus();
      return I.set(err, 'k.feedback_empty');
    }
    const btn = $('scan-feedback-save');
    btn.disabled = true;
    try {
      await session.request({ type: 'write_feedback', conversation: p.conversation, text });
      I.set($('scan-feedback-status'), 'k.feedback_saved', { who: staffName(p.counsellor) });
      await loadFeedback();
    } catch (e) {
      St.errorInto(err, e);
    } finally {
      btn.disabled = false;
    }
    return undefined;
  }

  // Reads a chat (audited for `purpose`: a scan's pick, or a chat whose counsellor asked for
  // feedback) and opens the feedback form for its counsellor.
  async function readPick(p, purpose) {
    try {
      const answer = await session.request({ type: 'transcript', conversation: p.conversation, purpose: purpose || 'chat_scan' });
      S.reading = p;
      const known = (S.feedback || []).find((f) => f.conversation === p.conversation);
      $('scan-feedback').value = (known && known.text) || '';
      I.clear($('scan-feedback-error'));
      I.clear($('scan-feedback-status'));
      $('scan-feedback-form').hidden = !p.counsellor;
      $('scan-feedback-nobody').hidden = !!p.counsellor;
      if (p.counsellor) I.set($('scan-feedback-label'), 'k.feedback_for', { who: staffName(p.counsellor) });
      const log = $('scan-log');
      log.textContent = '';
      (answer.events || []).forEach((e) => St.insertEntry(log, St.renderEntry(e, { isMine: () => false }), e.seq));
      if (!(answer.events || []).length) log.appendChild(h('p', { class: 'muted', i18n: 'k.transcript_empty' }));
      $('scan-transcript').hidden = false;
      log.focus();
    } catch (e) {
      St.errorInto($('scan-status'), e);
    }
  }

  // The masked chat as a text file for the intervision session, with what the masking
  // cannot promise on top.
  async function exportPick(p, btn) {
    btn.disabled = true;
    try {
      const x = await session.request({ type: 'intervision_export', conversation: p.conversation });
      const who = (r) => I.t('k.scan_role_' + r);
      const text = [I.t('k.scan_export_title'), '', I.lang() === 'en' ? x.limits_en : x.limits_nl, '']
        .concat(x.lines.map((l) => '[+' + l.minute + ' min] ' + who(l.from) + ': ' + l.text))
        .join('\n');
      const name = 'intervisie-' + p.conversation.slice(0, 8) + '.txt';
      I.download(name, new Blob([text + '\n'], { type: 'text/plain;charset=utf-8' }));
      I.set($('scan-status'), 'k.audit_downloaded', { file: name });
    } catch (e) {
      St.errorInto($('scan-status'), e);
    } finally {
      btn.disabled = false;
    }
  }

  // ---- planning: the fewest counsellors per hour that meet a target ------------------------

  async function makePlan(ev) {
    ev.preventDefault();
    const err = $('plan-error');
    I.clear(err);
    const wait = Number($('plan-wait').value);
    const left = Number($('plan-left').value);
    if (!($('plan-wait').value !== '' && wait >= 0 && wait <= 60)) {
      $('plan-wait').focus();
      return I.set(err, 'k.plan_bad_wait');
    }
    if (!($('plan-left').value !== '' && left >= 0 && left <= 100)) {
      $('plan-left').focus();
      return I.set(err, 'k.plan_bad_left');
    }
    const btn = $('plan-make');
    btn.disabled = true;
    $('plan-csv').hidden = true;
    I.set($('plan-status'), 'k.plan_busy');
    try {
      const answer = await session.request({
        type: 'plan_staffing',
        desk: S.desk,
        target: 'p90-wait=' + wait + 'm,abandon=' + left + '%',
        lang: I.lang(),
      });
      S.plan = answer;
      $('plan-view').innerHTML = answer.html;
      if ((answer.unmet || []).length) I.set($('plan-status'), 'k.plan_unmet', { hours: answer.unmet.join(', ') });
      else I.set($('plan-status'), 'k.plan_done');
      $('plan-csv').hidden = false;
    } catch (e) {
      I.clear($('plan-status'));
      St.errorInto(err, e);
    } finally {
      btn.disabled = false;
    }
    return undefined;
  }

  function downloadPlan() {
    if (!S.plan) return;
    const name = 'rooster-' + S.desk + '.csv';
    I.download(name, new Blob([S.plan.schedule_csv], { type: 'text/csv;charset=utf-8' }));
    I.set($('plan-status'), 'k.audit_downloaded', { file: name });
  }

  // ---- the read audit: who read which chat, when and why ---------------------------------

  function purposeText(e) {
    const why = e.purpose ? I.t('purpose.' + e.purpose) : '';
    return [why, e.note].filter(Boolean).join(': ');
  }

  async function showAudit(ev) {
    ev.preventDefault();
    const err = $('audit-error');
    I.clear(err);
    const p = period('audit-from', 'audit-to', err);
    if (!p) return undefined;
    const [from, to] = p.days;
    // The sector's administrator chooses the desk; a coordinator sees their own.
    const desk = S.admin ? $('audit-desk').value : S.desk;
    if (!desk) {
      $('audit-desk').focus();
      return I.set(err, 'k.audit_no_desk');
    }
    const frame = { type: 'read_audit', desk, from: p.from, to: p.to };
    if ($('audit-reader').value) frame.reader = $('audit-reader').value;
    if ($('audit-purpose').value) frame.purpose = $('audit-purpose').value;
    const btn = $('audit-show');
    btn.disabled = true;
    try {
      const answer = await session.request(frame);
      S.audit = { entries: answer.entries || [], erasures: answer.erasures || [], from, to, desk };
      renderAudit(answer.truncated);
    } catch (e) {
      St.errorInto(err, e);
    } finally {
      btn.disabled = false;
    }
    return undefined;
  }

  function renderAudit(truncated) {
    const rows = $('audit-rows');
    rows.textContent = '';
    const entries = S.audit.entries;
    entries.forEach((e) => {
      rows.appendChild(
        h(
          'tr',
          { testid: 'audit-row' },
          h('td', { text: I.format.shortDateTime(e.at) }),
          h('td', { text: staffName(e.reader) }),
          h('td', { text: (e.counsellor ? staffName(e.counsellor) : I.t('k.audit_nobody')) + ' · ' + e.conversation.slice(0, 8) }),
          h('td', { text: purposeText(e) })
        )
      );
    });
    const erased = $('erasure-rows');
    erased.textContent = '';
    S.audit.erasures.forEach((x) => {
      erased.appendChild(h('li', { testid: 'erasure-row', i18n: 'k.erasure_row', vars: { when: { sdt: x.at }, who: staffName(x.by) } }));
    });
    $('erasures').hidden = !S.audit.erasures.length;
    $('audit-wrap').hidden = !entries.length;
    $('audit-csv').hidden = !entries.length;
    if (!entries.length) I.set($('audit-status'), 'k.audit_none');
    else if (truncated) I.set($('audit-status'), 'k.audit_truncated', { n: entries.length });
    else I.set($('audit-status'), 'k.audit_count', { n: entries.length });
  }

  // One CSV field: quoted when it must be, and never read as a formula by a spreadsheet.
  function csvField(v) {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\n\r;]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function downloadAudit() {
    const head = ['at', 'reader', 'conversation', 'counsellor', 'purpose', 'note'];
    // An erasure is a row of its own: who and when, no chat, no counsellor.
    const lines = [head.join(',')].concat(
      S.audit.entries.map((e) => [e.at, e.reader, e.conversation, e.counsellor, e.purpose, e.note].map(csvField).join(',')),
      S.audit.erasures.map((x) => [x.at, x.by, '', '', 'erased_on_request', ''].map(csvField).join(','))
    );
    const name = 'leesregister-' + S.audit.desk + '-' + S.audit.from + '-' + S.audit.to + '.csv';
    I.download(name, new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' }));
    I.set($('audit-status'), 'k.audit_downloaded', { file: name });
  }

  // ---- accounts -----------------------------------------------------------------------

  // ---- centres (the sector's administrator) ---------------------------------------------

  function centreName(desk) {
    const c = S.centres.find((x) => x.id === desk);
    return c ? c.name : desk;
  }

  // ---- the desks a coordinator gives accounts (one server for the sector) -----------------

  // The coordinator's desks this server hosts, with their names (each asked at /api/info):
  // with more than one (the national desk and blended chat beside it), the account form
  // says which of them an account works for.
  async function loadMyDesks(identity) {
    const found = await St.desksHere(identity.desks);
    S.myDesks = found;
    const box = $('account-desk-choices');
    box.textContent = '';
    found.forEach((d) => {
      const input = h('input', { type: 'checkbox', id: 'account-desk-' + d.id, testid: 'account-desk-choice', 'data-desk': d.id });
      if (d.id === S.desk) input.defaultChecked = true;
      box.appendChild(h('div', { class: 'choice' }, input, h('label', { for: 'account-desk-' + d.id, text: d.name })));
    });
    showAccountDesks();
  }

  function severalDesks() {
    return !S.admin && S.myDesks.length > 1;
  }

  function showAccountDesks() {
    $('account-desks').hidden = !severalDesks();
    const col = $('accounts-desks-col');
    col.hidden = !(S.admin || severalDesks());
    I.set(col, S.admin ? 'k.col_account_desks' : 'k.account_works_for');
  }

  function deskLabel(desk) {
    if (S.admin) return centreName(desk);
    const d = S.myDesks.find((x) => x.id === desk);
    return d ? d.name : desk;
  }

  function checkDesks(desks) {
    document.querySelectorAll('[data-testid="account-desk-choice"]').forEach((el) => {
      el.checked = desks.includes(el.getAttribute('data-desk'));
    });
  }

  function checkedDesks() {
    return Array.from(document.querySelectorAll('[data-testid="account-desk-choice"]'))
      .filter((el) => el.checked)
      .map((el) => el.getAttribute('data-desk'));
  }

  // A proposal for a centre's address from its name: "CLB Genk" → "clb-genk".
  function slug(name) {
    return name
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40);
  }

  async function loadCentres() {
    try {
      const r = await fetch('/api/centres', { headers: { Accept: 'application/json' }, cache: 'no-store' });
      if (!r.ok) throw new Error(String(r.status));
      S.centres = (await r.json()).centres || [];
      renderCentres();
    } catch (e) {
      I.set($('centres-status'), 'k.centres_unavailable');
    }
  }

  function renderCentres() {
    const body = $('centre-rows');
    body.textContent = '';
    I.set($('centres-status'), 'k.centres_count', { n: S.centres.length });
    S.centres.forEach((c) => {
      const edit = h('button', { type: 'button', class: 'btn btn-small', testid: 'centre-edit-' + c.id, i18n: 'k.centre_edit', onclick: () => editCentre(c) });
      body.appendChild(
        h(
          'tr',
          { testid: 'centre-row', 'data-centre': c.id },
          h('td', { text: c.name }),
          h('td', {}, h('a', { href: c.url, text: c.url })),
          h('td', { text: (c.origins || []).join(', ') }),
          h('td', { i18n: c.open ? 'k.yes' : 'k.no' }),
          h('td', { class: 'actions' }, edit)
        )
      );
    });
    // The centres in the account form and the report's choice.
    const fill = (select, first) => {
      const keep = select.value;
      select.textContent = '';
      select.appendChild(h('option', { value: '', i18n: first }));
      S.centres.forEach((c) => select.appendChild(h('option', { value: c.id, text: c.name })));
      select.value = keep;
    };
    fill($('account-desk'), 'k.account_choose_centre');
    fill($('report-desk'), 'k.report_all_centres');
    fillAuditDesks();
    if (S.accounts.length) renderAccounts();
  }

  // The desks whose read audit the sector's administrator can look at: the server's own
  // desk (the national one), and each centre's box.
  function fillAuditDesks() {
    const select = $('audit-desk');
    const keep = select.value;
    select.textContent = '';
    select.appendChild(h('option', { value: '', i18n: 'k.audit_choose_desk' }));
    const own = S.info && S.info.desk;
    if (own && own.id) select.appendChild(h('option', { value: own.id, text: own.name || own.id }));
    S.centres.forEach((c) => select.appendChild(h('option', { value: c.id, text: c.name })));
    select.value = keep;
  }

  function editCentre(c) {
    S.editingCentre = c;
    I.clear($('centre-result'));
    I.clear($('centre-error'));
    I.set($('centre-form-title'), 'k.centre_edit_title', { name: c.name });
    $('centre-name').value = c.name;
    $('centre-id').value = c.id;
    $('centre-id').readOnly = true;
    $('centre-origins').value = (c.origins || []).join('\n');
    $('centre-name').focus();
  }

  function newCentre() {
    S.editingCentre = null;
    S.centreIdTouched = false;
    $('centre-form').reset();
    $('centre-id').readOnly = false;
    I.set($('centre-form-title'), 'k.centre_new');
    I.clear($('centre-error'));
    $('centre-name').focus();
  }

  async function saveCentre(ev) {
    ev.preventDefault();
    const err = $('centre-error');
    I.clear(err);
    I.clear($('centre-result'));
    const name = $('centre-name').value.trim();
    const id = $('centre-id').value.trim();
    if (!name) {
      $('centre-name').focus();
      return I.set(err, 'k.centre_need_name');
    }
    if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(id)) {
      $('centre-id').focus();
      return I.set(err, 'k.centre_bad_id');
    }
    const origins = $('centre-origins').value.split(/[\s,]+/).map((o) => o.trim()).filter(Boolean);
    const btn = $('centre-save');
    btn.disabled = true;
    try {
      await session.request({ type: 'save_centre', id, create: !S.editingCentre, name, origins });
      newCentre();
      I.set($('centre-result'), 'k.centre_saved', { name, url: '/c/' + id });
      await loadCentres();
    } catch (e) {
      St.errorInto(err, e);
    } finally {
      btn.disabled = false;
    }
  }

  function loadAccounts() {
    session.request({ type: 'accounts' }).then(
      (answer) => {
        S.accounts = answer.accounts || [];
        renderAccounts();
        fillStaffSelect($('audit-reader'), () => true);
        fillStaffSelect($('scan-counsellor'), (id) => id.role === 'counsellor');
        // Names now known: the feedback list says who.
        if (!S.admin) renderFeedback();
      },
      (err) => St.errorInto($('accounts-status'), err)
    );
  }

  function renderAccounts() {
    const body = $('account-rows');
    body.textContent = '';
    I.set($('accounts-status'), 'k.accounts_count', { n: S.accounts.length });
    S.accounts.forEach((a) => {
      const u = a.username;
      const id = a.identity || {};
      const edit = h('button', { type: 'button', class: 'btn btn-small', testid: 'account-edit-' + u, i18n: 'k.account_edit', onclick: () => editAccount(a, false) });
      const toggle = h('button', { type: 'button', class: 'btn btn-small', testid: 'account-toggle-' + u, i18n: a.active ? 'k.account_deactivate' : 'k.account_reactivate', onclick: (ev) => toggleAccount(a, ev.currentTarget) });
      const reset = h('button', { type: 'button', class: 'btn btn-small', testid: 'account-reset-' + u, i18n: 'k.account_reset', onclick: () => editAccount(a, true) });
      if (id.id === S.userId) toggle.disabled = true;
      body.appendChild(
        h(
          'tr',
          { testid: 'account-row', 'data-username': u, 'data-active': String(!!a.active) },
          h('td', { text: u }),
          h('td', { text: id.alias || '' }),
          h('td', { i18n: 'role.' + id.role }),
          S.admin || severalDesks() ? h('td', { text: (id.desks || []).map(deskLabel).join(', ') }) : null,
          h('td', { i18n: 'disc.' + id.discipline }),
          h('td', { text: String(id.capacity || '') }),
          h('td', { i18n: a.active ? 'k.yes' : 'k.no' }),
          h('td', { class: 'actions' }, edit, ' ', toggle, ' ', reset)
        )
      );
    });
  }

  function editAccount(a, focusPassword) {
    S.editing = a;
    const id = a.identity || {};
    I.set($('account-form-title'), 'k.account_edit_title', { user: a.username });
    $('account-username').value = a.username;
    $('account-username').readOnly = true;
    $('account-alias').value = id.alias || '';
    $('account-role').value = id.role || 'counsellor';
    $('account-discipline').value = id.discipline || '';
    $('account-capacity').value = String(id.capacity || 1);
    $('account-centre').value = id.centre || '';
    if (S.admin) $('account-desk').value = (id.desks || [])[0] || '';
    checkDesks(id.desks || []);
    $('account-active').checked = !!a.active;
    $('account-password').value = '';
    I.set($('account-password-label'), 'k.account_password_keep');
    I.clear($('account-error'));
    const target = focusPassword ? $('account-password') : $('account-alias');
    target.focus();
  }

  function newAccount() {
    S.editing = null;
    I.clear($('account-result'));
    $('account-form').reset();
    $('account-username').readOnly = false;
    I.set($('account-form-title'), 'k.account_new');
    I.set($('account-password-label'), 'k.account_password');
    I.clear($('account-error'));
    $('account-username').focus();
  }

  async function toggleAccount(a, button) {
    button.disabled = true;
    try {
      await session.request({ type: 'save_account', username: a.username, active: !a.active, identity: a.identity });
      I.set($('accounts-status'), a.active ? 'k.account_deactivated' : 'k.account_reactivated', { user: a.username });
      loadAccounts();
    } catch (err) {
      button.disabled = false;
      St.errorInto($('accounts-status'), err);
    }
  }

  async function saveAccount(ev) {
    ev.preventDefault();
    const err = $('account-error');
    I.clear(err);
    const username = $('account-username').value.trim();
    const alias = $('account-alias').value.trim();
    const password = $('account-password').value;
    const capacity = Number($('account-capacity').value);
    if (!username) return I.set(err, 'k.account_need_username');
    if (!alias) return I.set(err, 'k.account_need_alias');
    if (!Number.isInteger(capacity) || capacity < 1) return I.set(err, 'k.account_bad_capacity');
    if (!$('account-discipline').value) {
      $('account-discipline').focus();
      return I.set(err, 'k.account_need_discipline');
    }
    if (S.admin && !$('account-desk').value) {
      $('account-desk').focus();
      return I.set(err, 'k.account_need_centre');
    }
    if (severalDesks() && !checkedDesks().length) {
      $('account-desk-choices').querySelector('input').focus();
      return I.set(err, 'k.account_need_desk');
    }
    if (!S.editing && !password) return I.set(err, 'k.account_need_password');
    if (password && Array.from(password).length < 10) return I.set(err, 'k.account_short_password');
    const old = S.editing ? S.editing.identity || {} : null;
    const identity = {
      id: old ? old.id : username,
      alias,
      role: $('account-role').value,
      discipline: $('account-discipline').value,
      desks: old && old.desks && old.desks.length ? old.desks : [S.desk],
      capacity,
      centre: $('account-centre').value.trim() || null,
    };
    if (S.admin) {
      // The administrator chooses the account's own centre (its first desk); the other
      // centres it serves stay.
      const desk = $('account-desk').value;
      const before = old && old.desks ? old.desks : [];
      identity.desks = [desk].concat(before.slice(1).filter((d) => d !== desk));
      identity.centre = desk;
    } else if (severalDesks()) {
      // The desks ticked, in the coordinator's order (the page's own first).
      identity.desks = checkedDesks();
    }
    const frame = { type: 'save_account', username, create: !S.editing, active: $('account-active').checked, identity };
    if (password) frame.password = password;
    const btn = $('account-save');
    btn.disabled = true;
    try {
      await session.request(frame);
      $('account-password').value = '';
      I.set($('accounts-status'), 'k.account_saved', { user: username });
      newAccount();
      // Said where the coordinator looks: next to the button they pressed.
      I.set($('account-result'), 'k.account_saved', { user: username });
      loadAccounts();
    } catch (e) {
      St.errorInto(err, e);
    } finally {
      btn.disabled = false;
    }
    return undefined;
  }

  // ---- boot ---------------------------------------------------------------------------

  async function logout() {
    try {
      await session.request({ type: 'offline', desk: S.desk });
    } catch (err) {
      // logging out anyway
    }
    session.logout();
    location.reload();
  }

  async function boot() {
    I.init();
    try {
      S.info = await P.info();
      S.desk = (S.info.desk && S.info.desk.id) || S.desk;
    } catch (err) {
      I.set($('login-error'), 's.info_failed');
    }
    St.wireLogin(session);
    $('logout').addEventListener('click', logout);
    $('coord-reachable').addEventListener('change', applyPresence);
    $('coord-available').addEventListener('change', applyPresence);
    $('flags-refresh').addEventListener('click', loadFlags);
    $('transcript-close').addEventListener('click', () => {
      $('transcript').hidden = true;
      $('transcript-log').textContent = '';
    });
    $('calendar-load').addEventListener('click', loadCalendar);
    $('event-form').addEventListener('submit', openEvent);
    $('event-close').addEventListener('click', closeEvent);
    $('event-when-now').addEventListener('change', eventWhenChanged);
    $('event-when-later').addEventListener('change', eventWhenChanged);
    $('calendar-form').addEventListener('submit', saveCalendar);
    $('calendar-weekly-add').addEventListener('click', () => $('calendar-weekly').appendChild(hoursRow(null)));
    $('calendar-holiday-add').addEventListener('click', () => $('calendar-holidays').appendChild(holidayRow(null)));
    $('calendar-closure-add').addEventListener('click', () => $('calendar-closures').appendChild(closureRow(null)));
    $('calendar-event-add').addEventListener('click', () => $('calendar-events').appendChild(eventRow(null)));
    $('calendar-json-refresh').addEventListener('click', () => {
      $('calendar-json').value = JSON.stringify(readCalendar(), null, 2);
    });
    $('calendar-json-apply').addEventListener('click', jsonToForm);
    $('accounts-refresh').addEventListener('click', loadAccounts);
    $('centres-refresh').addEventListener('click', loadCentres);
    $('centre-form').addEventListener('submit', saveCentre);
    $('centre-cancel').addEventListener('click', newCentre);
    $('centre-name').addEventListener('input', () => {
      if (!S.editingCentre && !S.centreIdTouched) $('centre-id').value = slug($('centre-name').value);
    });
    $('centre-id').addEventListener('input', () => {
      S.centreIdTouched = true;
    });
    $('account-form').addEventListener('submit', saveAccount);
    $('account-cancel').addEventListener('click', newAccount);
    $('scan-form').addEventListener('submit', drawScan);
    $('scan-feedback-form').addEventListener('submit', saveFeedback);
    $('scan-transcript-close').addEventListener('click', () => {
      $('scan-transcript').hidden = true;
      $('scan-log').textContent = '';
    });
    lastMonth('scan-from', 'scan-to');
    $('plan-form').addEventListener('submit', makePlan);
    $('plan-csv').addEventListener('click', downloadPlan);
    $('audit-form').addEventListener('submit', showAudit);
    $('audit-csv').addEventListener('click', downloadAudit);
    lastMonth('audit-from', 'audit-to');
    setupReport();
  }

  boot();
})();
