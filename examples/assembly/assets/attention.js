// clbchat: getting someone's attention when something happens in a tab they are not looking
// at: the tab's title and icon change, a soft sound plays (can be switched off) and, if the
// person allowed it, the browser shows a notification. Used by the visitor's page (the
// counsellor joins or writes) and the counsellor's page (a new chat, a new message).
//
// Privacy: a notification never carries message text (a lock screen or a shoulder could read
// it), only "a new message". Nothing is stored: the sound setting lives in the page only.
// The sound is made with Web Audio (two soft tones), so no audio file is needed.
'use strict';

(function () {
  const I = window.ClbI18n;

  function icon(color, dot) {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
      '<path fill="' + color + '" d="M4 6h24a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H14l-7 6v-6H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2z"/>' +
      (dot ? '<circle cx="25" cy="7" r="6" fill="#d9480f" stroke="#fff" stroke-width="2"/>' : '') +
      '</svg>';
    return 'data:image/svg+xml,' + encodeURIComponent(svg);
  }
  const ICON_CALM = icon('#0b6e79', false);
  const ICON_ALERT = icon('#0b6e79', true);

  // opts: {titleKey: i18n key of the page title}
  function create(opts) {
    const st = {
      count: 0,
      lastKey: null,
      sound: true,
      audio: null,
      onSoundChange: [],
    };

    let link = document.querySelector('link[rel="icon"]');
    if (!link) {
      link = document.createElement('link');
      link.rel = 'icon';
      document.head.appendChild(link);
    }
    link.href = ICON_CALM;

    function render() {
      const base = I.t(opts.titleKey);
      document.title = st.count ? '(' + st.count + ') ' + I.t(st.lastKey) + ' – ' + base : base;
      link.href = st.count ? ICON_ALERT : ICON_CALM;
      document.documentElement.setAttribute('data-attention', String(st.count));
    }

    // Looking at the page clears the signal.
    function seen() {
      if (!st.count) return;
      st.count = 0;
      render();
    }

    function unlockAudio() {
      // Browsers allow sound only after a user gesture: prepare it at the first one.
      if (st.audio || !(window.AudioContext || window.webkitAudioContext)) return;
      try {
        st.audio = new (window.AudioContext || window.webkitAudioContext)();
      } catch (e) {
        st.audio = null;
      }
    }

    function chime() {
      if (!st.sound || !st.audio) return;
      try {
        if (st.audio.state === 'suspended') st.audio.resume();
        const t0 = st.audio.currentTime + 0.01;
        [[660, 0], [880, 0.18]].forEach(([f, d]) => {
          const osc = st.audio.createOscillator();
          const gain = st.audio.createGain();
          osc.type = 'sine';
          osc.frequency.value = f;
          gain.gain.setValueAtTime(0.0001, t0 + d);
          gain.gain.exponentialRampToValueAtTime(0.08, t0 + d + 0.03);
          gain.gain.exponentialRampToValueAtTime(0.0001, t0 + d + 0.25);
          osc.connect(gain).connect(st.audio.destination);
          osc.start(t0 + d);
          osc.stop(t0 + d + 0.3);
        });
        document.documentElement.setAttribute('data-chimes', String(Number(document.documentElement.getAttribute('data-chimes') || 0) + 1));
      } catch (e) {
        // no sound then; the title and icon still change
      }
    }

    function notify(key) {
      if (!('Notification' in window) || Notification.permission !== 'granted') return;
      if (!document.hidden) return;
      try {
        const n = new Notification(I.t(opts.titleKey), { body: I.t(key), tag: 'clbchat', silent: true });
        n.onclick = () => {
          window.focus();
          n.close();
        };
      } catch (e) {
        // some browsers allow notifications only from a service worker: the title does it
      }
    }

    // Something happened: `key` says what, in words (i18n key), e.g. 'att.new_message'.
    // The title and icon change unless the person is looking at the page right now.
    function signal(key) {
      const looking = !document.hidden && document.hasFocus();
      chime();
      if (looking) return;
      st.count += 1;
      st.lastKey = key;
      render();
      notify(key);
    }

    function setSound(on) {
      st.sound = !!on;
      if (st.sound) unlockAudio();
      st.onSoundChange.forEach((f) => f(st.sound));
    }

    // A toggle button for the sound; it says what it does now.
    function soundButton(testid) {
      const b = I.h('button', { type: 'button', class: 'btn btn-small btn-sound', testid, onclick: () => setSound(!st.sound) });
      const show = (on) => {
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
        I.set(b, on ? 'att.sound_on' : 'att.sound_off');
      };
      st.onSoundChange.push(show);
      show(st.sound);
      return b;
    }

    // A button that asks the browser for notifications; hidden where there are none or
    // where the person already decided.
    function notifyButton(testid) {
      const b = I.h('button', { type: 'button', class: 'btn btn-small', testid, i18n: 'att.ask_notify' });
      const supported = 'Notification' in window;
      const refresh = () => {
        b.hidden = !supported || Notification.permission !== 'default';
      };
      b.addEventListener('click', () => {
        unlockAudio();
        Notification.requestPermission().then(refresh, refresh);
      });
      refresh();
      return b;
    }

    ['pointerdown', 'keydown', 'touchstart'].forEach((ev) => document.addEventListener(ev, () => {
      unlockAudio();
      seen();
    }, { passive: true }));
    window.addEventListener('focus', seen);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && document.hasFocus()) seen();
    });
    I.onChange(render);
    render();

    return { signal, seen, setSound, soundButton, notifyButton, sound: () => st.sound };
  }

  window.ClbAttention = { create };
})();
