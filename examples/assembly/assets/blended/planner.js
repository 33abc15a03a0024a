// blended-chat: the counsellor's planning page. Log in (staff.js), and you are online at
// the blended-chat desk so a client who opens their link reaches you at once. Plan a
// session (a new client, or the next session of one you saw before), get the client's
// link once, copy it; move, cancel or relink a session from the lists. The chats
// themselves are staff.js's workspace.
'use strict';

(function () {
  const I = window.ClbI18n;
  const P = window.ClbProto;
  const St = window.ClbStaff;
  const $ = (id) => document.getElementById(id);
  const LENGTHS = [15, 30, 45, 60, 90, 120];

  Object.assign(I.DICT.nl, {
    'bp.title': 'CLB-chat – je planning',
    'bp.sub': 'afspraken met je cliënten',
    'bp.plan_title': 'Nieuwe afspraak',
    'bp.move_title': 'Afspraak verplaatsen',
    'bp.client': 'Cliënt',
    'bp.new_client': 'Nieuwe cliënt',
    'bp.client_name': 'Naam van de cliënt',
    'bp.client_name_hint': 'Zoals jij de cliënt wil zien. De cliënt ziet dit niet.',
    'bp.date': 'Dag',
    'bp.time': 'Uur',
    'bp.length': 'Duur',
    'bp.minutes': '{n} minuten',
    'bp.stand_in': 'Collega die mag invallen (niet verplicht)',
    'bp.stand_in_hint': 'De gebruikersnaam van een collega van jouw centrum.',
    'bp.note': 'Notitie voor jezelf (niet verplicht)',
    'bp.plan': 'Afspraak maken',
    'bp.move': 'Verplaatsen',
    'bp.cancel_edit': 'Niet verplaatsen',
    'bp.missing': 'Vul de naam, de dag en het uur in.',
    'bp.planned': 'Afspraak gemaakt met {name} op {when}. Stuur je cliënt deze link:',
    'bp.moved': 'Verplaatst naar {when}. De link van je cliënt blijft dezelfde.',
    'bp.relinked': 'Nieuwe link voor {name} ({when}). De oude link werkt niet meer:',
    'bp.link_label': 'Link voor je cliënt',
    'bp.copy': 'Link kopiëren',
    'bp.copied': 'Gekopieerd',
    'bp.ics': 'Agenda-bestand downloaden',
    'bp.ics_failed': 'Het agenda-bestand lukte niet. Probeer opnieuw.',
    'bp.link_hint': 'Je ziet deze link maar één keer. Kwijt? Maak in je lijst een nieuwe link: de oude werkt dan niet meer.',
    'bp.coming_title': 'Komende afspraken',
    'bp.past_title': 'Voorbije en afgezegde afspraken',
    'bp.none_coming': 'Geen afspraken gepland.',
    'bp.none_past': 'Nog niets.',
    'bp.row': '{when} · {n} min',
    'bp.stand_in_for': 'Je valt in voor {who}',
    'bp.with_stand_in': 'Invaller: {who}',
    'bp.cancelled': 'Afgezegd',
    'bp.held': 'Gehouden',
    'bp.erased': 'Naam gewist: de bewaartijd van dit dossier is voorbij',
    'bp.new_link': 'Nieuwe link',
    'bp.reschedule': 'Verplaatsen',
    'bp.cancel': 'Afzeggen',
    'bp.cancel_confirm': 'De afspraak met {name} op {when} afzeggen? De link van je cliënt zegt dan dat ze niet doorgaat.',
    'bp.online': 'Je bent online: een cliënt die de link opent, komt meteen bij jou.',
    'bp.to_desk_hint': 'Je andere chats beantwoord je op de pagina voor hulpverleners. Je bent maar op één pagina tegelijk aangemeld.',
    'bp.to_desk': 'Naar de pagina voor hulpverleners',
    'bp.earlier': 'Gesprekken lezen',
    'bp.traj_title': 'Gesprekken met {name}',
    'bp.traj_audit': 'Wat je hier leest, wordt bijgehouden: wie, wanneer en welk gesprek.',
    'bp.traj_session': '{when} · {n} min',
    'bp.traj_not_held': 'Nog niet gehouden.',
    'bp.traj_export': 'Bewaren voor het dossier (HTML)',
    'bp.traj_close': 'Sluiten',
    'bp.traj_doc_title': 'Chatgesprekken met {name}',
    'bp.traj_doc_note': 'Uit de blended chat van het CLB, bewaard op {when} door {who}. Vertrouwelijk: hoort bij het cliëntdossier.',
    'bp.no_chats': 'Nog geen chat. Zodra een cliënt de link opent, komt het gesprek hier.',
  });
  Object.assign(I.DICT.en, {
    'bp.title': 'CLB chat – your planning',
    'bp.sub': 'appointments with your clients',
    'bp.plan_title': 'New appointment',
    'bp.move_title': 'Move appointment',
    'bp.client': 'Client',
    'bp.new_client': 'New client',
    'bp.client_name': "Client's name",
    'bp.client_name_hint': 'As you want to see the client. The client does not see this.',
    'bp.date': 'Day',
    'bp.time': 'Time',
    'bp.length': 'Length',
    'bp.minutes': '{n} minutes',
    'bp.stand_in': 'Colleague who may stand in (optional)',
    'bp.stand_in_hint': 'The user name of a colleague of your centre.',
    'bp.note': 'Note for yourself (optional)',
    'bp.plan': 'Make appointment',
    'bp.move': 'Move',
    'bp.cancel_edit': 'Do not move',
    'bp.missing': 'Fill in the name, the day and the time.',
    'bp.planned': 'Appointment made with {name} on {when}. Send your client this link:',
    'bp.moved': "Moved to {when}. Your client's link stays the same.",
    'bp.relinked': 'New link for {name} ({when}). The old link no longer works:',
    'bp.link_label': 'Link for your client',
    'bp.copy': 'Copy link',
    'bp.copied': 'Copied',
    'bp.ics': 'Download calendar file',
    'bp.ics_failed': 'The calendar file did not work. Try again.',
    'bp.link_hint': 'You see this link only once. Lost it? Make a new link in your list: the old one then stops working.',
    'bp.coming_title': 'Coming appointments',
    'bp.past_title': 'Past and cancelled appointments',
    'bp.none_coming': 'No appointments planned.',
    'bp.none_past': 'Nothing yet.',
    'bp.row': '{when} · {n} min',
    'bp.stand_in_for': 'You stand in for {who}',
    'bp.with_stand_in': 'Stand-in: {who}',
    'bp.cancelled': 'Cancelled',
    'bp.held': 'Held',
    'bp.erased': 'Name deleted: this file has been kept as long as allowed',
    'bp.new_link': 'New link',
    'bp.reschedule': 'Move',
    'bp.cancel': 'Cancel',
    'bp.cancel_confirm': 'Cancel the appointment with {name} on {when}? Your client\'s link will then say it is off.',
    'bp.online': 'You are online: a client who opens the link reaches you at once.',
    'bp.to_desk_hint': 'You answer your other chats on the counsellors\' page. You are logged in on one page at a time.',
    'bp.to_desk': 'To the counsellors\' page',
    'bp.earlier': 'Read the chats',
    'bp.traj_title': 'Chats with {name}',
    'bp.traj_audit': 'What you read here is recorded: who, when and which chat.',
    'bp.traj_session': '{when} · {n} min',
    'bp.traj_not_held': 'Not held yet.',
    'bp.traj_export': 'Save for the client file (HTML)',
    'bp.traj_close': 'Close',
    'bp.traj_doc_title': 'Chats with {name}',
    'bp.traj_doc_note': 'From the CLB blended chat, saved on {when} by {who}. Confidential: part of the client file.',
    'bp.no_chats': 'No chat yet. As soon as a client opens the link, the chat comes here.',
  });

  const S = {
    info: null,
    desk: 'blended',
    workspace: null,
    userId: null,
    editing: null,
    token: null,
    trajectory: null,
    coming: [],
    past: [],
    attention: null,
  };

  const session = new St.Session({
    onLoggedIn,
    onLoggedOut,
    onEvent: (ev) => {
      if (S.workspace) S.workspace.onEvent(ev);
    },
    onConnState: St.setConnState,
  });

  const showDesk = St.showDesk;

  async function onLoggedIn(identity, again) {
    if (!S.workspace || S.userId !== identity.id) {
      S.workspace = new St.Workspace({
        attention: S.attention,
        session,
        info: S.info,
        tabsEl: $('chat-tabs'),
        panesEl: $('chat-panes'),
        emptyEl: $('no-chats'),
        onChange: () => {},
        identified: true,
      });
    }
    S.userId = identity.id;
    showDesk(true);
    $('login-notice').hidden = true;
    I.set($('me'), 's.me', { alias: identity.alias, id: identity.id, role: { key: 'role.' + identity.role } });
    try {
      await session.request({ type: 'online', desk: S.desk });
      I.set($('desk-status'), 'bp.online');
    } catch (err) {
      St.errorInto($('desk-status'), err);
    }
    if (again) S.workspace.rejoinAll();
    await refresh();
    if (!again) $('client-name').focus();
  }

  function onLoggedOut(reasonKey) {
    showDesk(false);
    const notice = $('login-notice');
    I.set(notice, reasonKey);
    notice.hidden = false;
    $('password').focus();
  }

  // ---- the lists -----------------------------------------------------------------------

  async function refresh() {
    try {
      const [coming, past] = await Promise.all([
        session.request({ type: 'appointments', which: 'coming' }),
        session.request({ type: 'appointments', which: 'past' }),
      ]);
      S.coming = coming.appointments || [];
      S.past = past.appointments || [];
    } catch (err) {
      St.errorInto($('plan-error'), err);
      return;
    }
    renderList($('coming'), $('coming-empty'), S.coming, true);
    renderList($('past'), $('past-empty'), S.past, false);
    renderClients();
  }

  function renderList(ul, empty, list, coming) {
    I.clear(ul);
    empty.hidden = list.length > 0;
    list.forEach((a) => ul.appendChild(row(a, coming)));
  }

  // Whether the client ever joined this session.
  function held(a) {
    return Array.isArray(a.conversations) && a.conversations.length > 0;
  }

  // The client's name; after the client file's retention it is empty, and we say why.
  function clientName(a) {
    return a.client_name || I.t('bp.erased');
  }

  function row(a, coming) {
    const mine = a.counsellor === S.userId;
    const li = I.h('li', {
      testid: 'appointment',
      'data-id': a.id,
      class: a.status === 'cancelled' ? 'cancelled' : '',
    });
    li.appendChild(I.h('p', { class: 'when', i18n: 'bp.row', vars: { when: { dt: a.starts_at }, n: a.length_minutes } }));
    li.appendChild(I.h('p', { testid: 'appointment-client', text: clientName(a), class: a.client_name ? '' : 'muted' }));
    if (!mine) li.appendChild(I.h('p', { class: 'hint', i18n: 'bp.stand_in_for', vars: { who: a.counsellor } }));
    else if (a.stand_in) li.appendChild(I.h('p', { class: 'hint', i18n: 'bp.with_stand_in', vars: { who: a.stand_in } }));
    if (a.note) li.appendChild(I.h('p', { class: 'hint', text: a.note }));
    if (a.status === 'cancelled') li.appendChild(I.h('p', { class: 'muted', i18n: 'bp.cancelled' }));
    else if (held(a)) li.appendChild(I.h('p', { class: 'muted', i18n: 'bp.held' }));
    li.appendChild(
      I.h(
        'div',
        { class: 'btn-row' },
        I.h('button', { type: 'button', class: 'btn btn-small btn-quiet', testid: 'read-trajectory', i18n: 'bp.earlier', onclick: () => readTrajectory(a) })
      )
    );
    if (coming && mine && a.status !== 'cancelled' && !held(a)) {
      li.appendChild(
        I.h(
          'div',
          { class: 'btn-row' },
          I.h('button', { type: 'button', class: 'btn btn-small', testid: 'new-link', i18n: 'bp.new_link', onclick: () => relink(a) }),
          I.h('button', { type: 'button', class: 'btn btn-small', testid: 'reschedule', i18n: 'bp.reschedule', onclick: () => edit(a) }),
          I.h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', testid: 'cancel', i18n: 'bp.cancel', onclick: () => cancel(a) })
        )
      );
    }
    return li;
  }

  // Earlier clients (one entry per trajectory, the latest name), for a next session.
  function renderClients() {
    const pick = $('client-pick');
    const keep = pick.value;
    I.clear(pick);
    pick.appendChild(I.h('option', { value: '', i18n: 'bp.new_client' }));
    const seen = new Map();
    S.past.concat(S.coming).forEach((a) => {
      if (a.counsellor === S.userId && a.client_name) seen.set(a.trajectory, a.client_name);
    });
    Array.from(seen.entries())
      .sort((x, y) => x[1].localeCompare(y[1]))
      .forEach(([t, name]) => pick.appendChild(I.h('option', { value: t, text: name })));
    pick.value = seen.has(keep) ? keep : '';
  }

  // ---- the form ------------------------------------------------------------------------

  function localDate(d) {
    const pad = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
  }

  function booking() {
    const date = $('start-date').value;
    const time = $('start-time').value;
    const name = $('client-name').value.trim();
    if (!date || !time || !name) return null;
    // The day and time as the counsellor reads them on their own clock.
    const starts = new Date(date + 'T' + time);
    if (Number.isNaN(starts.getTime())) return null;
    return {
      client_name: name,
      note: $('note').value.trim() || null,
      starts_at: starts.toISOString(),
      length_minutes: Number($('length').value),
      stand_in: $('stand-in').value.trim() || null,
      trajectory: $('client-pick').value || null,
    };
  }

  function showLink(key, a, token) {
    // Beside this page: /join on blended chat's own server, /blended/join on the sector's.
    const url = new URL('join', location.href).href + '#token=' + encodeURIComponent(token);
    S.token = token;
    I.set($('link-text'), key, { name: a.client_name, when: { dt: a.starts_at } });
    $('link').value = url;
    $('link-box').hidden = false;
    I.set($('copy-link'), 'bp.copy');
    $('link').focus();
    $('link').select();
  }

  function resetForm() {
    S.editing = null;
    $('plan-form').reset();
    $('length').value = '45';
    const soon = new Date(Date.now() + 24 * 3600000);
    $('start-date').value = localDate(soon);
    I.set($('plan-title'), 'bp.plan_title');
    I.set($('plan'), 'bp.plan');
    $('plan-cancel-edit').hidden = true;
    $('client-pick').disabled = false;
  }

  async function submit(e) {
    e.preventDefault();
    I.clear($('plan-error'));
    const b = booking();
    if (!b) {
      I.set($('plan-error'), 'bp.missing');
      return;
    }
    $('plan').disabled = true;
    try {
      if (S.editing) {
        const answer = await session.request({ type: 'reschedule_appointment', appointment: S.editing, booking: b });
        $('link-box').hidden = true;
        I.set($('desk-status'), 'bp.moved', { when: { dt: answer.appointment.starts_at } });
      } else {
        const answer = await session.request({ type: 'plan_appointment', desk: S.desk, booking: b });
        showLink('bp.planned', answer.appointment, answer.token);
      }
      resetForm();
      await refresh();
    } catch (err) {
      St.errorInto($('plan-error'), err);
    } finally {
      $('plan').disabled = false;
    }
  }

  function edit(a) {
    S.editing = a.id;
    const starts = new Date(a.starts_at);
    $('client-pick').value = a.trajectory;
    $('client-pick').disabled = true;
    $('client-name').value = a.client_name;
    $('start-date').value = localDate(starts);
    $('start-time').value = St.hhmm(starts);
    $('length').value = String(a.length_minutes);
    $('stand-in').value = a.stand_in || '';
    $('note').value = a.note || '';
    I.set($('plan-title'), 'bp.move_title');
    I.set($('plan'), 'bp.move');
    $('plan-cancel-edit').hidden = false;
    $('client-name').focus();
  }

  async function relink(a) {
    try {
      const answer = await session.request({ type: 'new_appointment_link', appointment: a.id });
      showLink('bp.relinked', answer.appointment, answer.token);
    } catch (err) {
      St.errorInto($('plan-error'), err);
    }
  }

  async function cancel(a) {
    if (!window.confirm(I.t('bp.cancel_confirm', { name: a.client_name, when: { dt: a.starts_at } }))) return;
    try {
      await session.request({ type: 'cancel_appointment', appointment: a.id });
      await refresh();
    } catch (err) {
      St.errorInto($('plan-error'), err);
    }
  }

  async function copy() {
    const field = $('link');
    try {
      await navigator.clipboard.writeText(field.value);
    } catch (e) {
      field.select();
      document.execCommand('copy');
    }
    I.set($('copy-link'), 'bp.copied');
  }

  // ---- a trajectory: the sessions with one client ---------------------------------------

  async function readTrajectory(a) {
    I.clear($('plan-error'));
    let answer;
    try {
      answer = await session.request({ type: 'trajectory', trajectory: a.trajectory });
    } catch (err) {
      St.errorInto($('plan-error'), err);
      return;
    }
    S.trajectory = { name: clientName(a), sessions: answer.sessions || [] };
    const box = $('trajectory-sessions');
    I.clear(box);
    S.trajectory.sessions.forEach((t) => {
      const s = t.appointment;
      box.appendChild(I.h('h3', { i18n: 'bp.traj_session', vars: { when: { dt: s.starts_at }, n: s.length_minutes } }));
      const lines = (t.log || []).filter((e) => e.body && e.body.type === 'message');
      if (!lines.length) box.appendChild(I.h('p', { class: 'muted', i18n: 'bp.traj_not_held' }));
      lines.forEach((e) =>
        box.appendChild(
          I.h(
            'p',
            { class: 'msg-line', testid: 'trajectory-message' },
            I.h('span', { class: 'msg-time', text: I.format.time(e.at) + ' ' }),
            I.h('strong', { text: e.body.author + ': ' }),
            e.body.text
          )
        )
      );
    });
    I.set($('trajectory-title'), 'bp.traj_title', { name: clientName(a) });
    $('trajectory-card').hidden = false;
    $('trajectory-title').focus();
  }

  // The trajectory as one self-contained HTML file for the client file (no scripts, no
  // outside resources; every text escaped).
  function exportTrajectory() {
    const t = S.trajectory;
    if (!t) return;
    const esc = (x) => String(x).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
    const parts = t.sessions.map((x) => {
      const s = x.appointment;
      const lines = (x.log || [])
        .filter((e) => e.body && e.body.type === 'message')
        .map((e) => '<p><time>' + esc(I.format.time(e.at)) + '</time> <strong>' + esc(e.body.author) + ':</strong> ' + esc(e.body.text) + '</p>')
        .join('\n');
      return '<section><h2>' + esc(I.t('bp.traj_session', { when: { dt: s.starts_at }, n: s.length_minutes })) + '</h2>\n' +
        (lines || '<p>' + esc(I.t('bp.traj_not_held')) + '</p>') + '</section>';
    });
    const title = I.t('bp.traj_doc_title', { name: t.name });
    const who = (session.identity && session.identity.alias) || '';
    const html = '<!doctype html>\n<html lang="' + I.lang() + '"><head><meta charset="utf-8"><title>' + esc(title) +
      '</title><style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}time{color:#555}</style></head><body>\n<h1>' +
      esc(title) + '</h1>\n<p>' + esc(I.t('bp.traj_doc_note', { when: { dt: new Date().toISOString() }, who })) + '</p>\n' +
      parts.join('\n') + '\n</body></html>\n';
    I.download('gesprekken-' + t.name.replace(/[^\p{L}\p{N}]+/gu, '-') + '.html', new Blob([html], { type: 'text/html' }));
  }

  // The calendar file to send with the link (made by the server, from the token).
  async function downloadIcs() {
    I.clear($('plan-error'));
    try {
      const r = await fetch('/api/appointment.ics', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: S.token }),
      });
      if (!r.ok) throw new Error(String(r.status));
      I.download('chat-met-je-clb.ics', await r.blob());
    } catch (e) {
      I.set($('plan-error'), 'bp.ics_failed');
    }
  }

  async function logout() {
    session.logout();
    location.reload();
  }

  async function boot() {
    I.init();
    S.attention = window.ClbAttention.create({ titleKey: 'bp.title' });
    $('desk-attention').append(S.attention.soundButton('sound-toggle'), S.attention.notifyButton('ask-notify'));
    LENGTHS.forEach((n) => $('length').appendChild(I.h('option', { value: String(n), i18n: 'bp.minutes', vars: { n } })));
    resetForm();
    try {
      // The page's desk (blended chat's, beside the national desk on a server of the
      // sector); empty: the server's own.
      const mine = document.documentElement.getAttribute('data-desk') || '';
      // Beside another desk (under /blended/), the way back to the counsellor page.
      $('to-desk').hidden = !mine;
      S.info = await P.info(mine);
      S.desk = (S.info.desk && S.info.desk.id) || S.desk;
    } catch (err) {
      I.set($('login-error'), 's.info_failed');
    }
    St.wireLogin(session);
    $('plan-form').addEventListener('submit', submit);
    $('plan-cancel-edit').addEventListener('click', resetForm);
    $('client-pick').addEventListener('change', () => {
      const t = $('client-pick').value;
      const a = S.past.concat(S.coming).find((x) => x.trajectory === t);
      if (a) $('client-name').value = a.client_name;
    });
    $('copy-link').addEventListener('click', copy);
    $('download-ics').addEventListener('click', downloadIcs);
    $('trajectory-export').addEventListener('click', exportTrajectory);
    $('trajectory-close').addEventListener('click', () => {
      $('trajectory-card').hidden = true;
      S.trajectory = null;
    });
    $('logout').addEventListener('click', logout);
    setInterval(() => {
      if (session.connected) refresh();
    }, 60000);
  }

  boot();
})();
