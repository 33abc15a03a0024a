// clbchat: the WebSocket client for the clbchat.v1 protocol (docs/protocol.md).
//
// One Connection is one WebSocket. request(frame) numbers the frame with `req` and returns
// a Promise for the answer carrying the same `req`; an `error` answer rejects with
// {code, message}. `event` frames go to onEvent. Nothing here logs frame contents.
'use strict';

(function () {
  const SUBPROTOCOL = 'clbchat.v1';

  function wsUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  }

  class Connection {
    // handlers: onEvent(event), onClose({code, reason}), onFrame(frame) for answers that
    // match no pending request (for example an error to a frame sent without `req`).
    constructor(handlers) {
      this.handlers = handlers || {};
      this.ws = null;
      this.nextReq = 1;
      this.pending = new Map();
      this.closedByUs = false;
    }

    get isOpen() {
      return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    }

    // Opens the socket; resolves when open, rejects when it closes before opening.
    connect() {
      return new Promise((resolve, reject) => {
        let opened = false;
        let ws;
        try {
          ws = new WebSocket(wsUrl(), SUBPROTOCOL);
        } catch (e) {
          reject({ code: 'connection_failed', message: String(e && e.message) });
          return;
        }
        this.ws = ws;
        ws.onopen = () => {
          opened = true;
          resolve(this);
        };
        ws.onmessage = (msg) => this._receive(msg.data);
        ws.onerror = () => {
          // A close event always follows; it does the work.
        };
        ws.onclose = (ev) => {
          const info = { code: ev.code, reason: ev.reason || '', byUs: this.closedByUs };
          this._failPending({ code: 'connection_closed', message: 'the connection closed' });
          if (this.ws === ws) this.ws = null;
          if (!opened) {
            reject({ code: 'connection_failed', message: 'could not connect', close: info });
            return;
          }
          if (this.handlers.onClose) this.handlers.onClose(info);
        };
      });
    }

    // Sends a frame with a fresh `req`; resolves with the answer frame.
    request(frame) {
      if (!this.isOpen) {
        return Promise.reject({ code: 'connection_closed', message: 'not connected' });
      }
      const req = this.nextReq++;
      return new Promise((resolve, reject) => {
        this.pending.set(req, { resolve, reject });
        this.ws.send(JSON.stringify(Object.assign({}, frame, { req })));
      });
    }

    // Sends a frame without `req` and without waiting (typing, leave on quick exit).
    fire(frame) {
      if (!this.isOpen) return false;
      try {
        this.ws.send(JSON.stringify(frame));
        return true;
      } catch (e) {
        return false;
      }
    }

    close(code) {
      this.closedByUs = true;
      if (this.ws) {
        try {
          this.ws.close(code || 1000);
        } catch (e) {
          // already closing
        }
      }
    }

    _failPending(err) {
      const pending = this.pending;
      this.pending = new Map();
      pending.forEach((p) => p.reject(err));
    }

    _receive(data) {
      if (typeof data !== 'string') return;
      let frame;
      try {
        frame = JSON.parse(data);
      } catch (e) {
        return;
      }
      if (!frame || typeof frame !== 'object') return;
      if (frame.type === 'event') {
        if (frame.event && this.handlers.onEvent) this.handlers.onEvent(frame.event);
        return;
      }
      const req = frame.req;
      if (typeof req === 'number' && this.pending.has(req)) {
        const p = this.pending.get(req);
        this.pending.delete(req);
        if (frame.type === 'error') {
          p.reject({ code: frame.code || 'error', message: frame.message || '' });
        } else {
          p.resolve(frame);
        }
        return;
      }
      if (this.handlers.onFrame) this.handlers.onFrame(frame);
    }
  }

  // Opens a connection, asks one question, closes. For `availability` before a session:
  // the server closes sockets that start no session within 15 s.
  async function ask(frame) {
    const conn = new Connection({});
    await conn.connect();
    try {
      return await conn.request(frame);
    } finally {
      conn.close(1000);
    }
  }

  // GET /api/info (of `desk`, or the service's own desk), cached.
  let infoPromise = null;
  function info(desk) {
    if (!infoPromise) {
      const url = desk ? '/api/info?desk=' + encodeURIComponent(desk) : '/api/info';
      infoPromise = fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' })
        .then((r) => {
          if (!r.ok) throw new Error('HTTP ' + r.status);
          return r.json();
        })
        .catch((e) => {
          infoPromise = null;
          throw e;
        });
    }
    return infoPromise;
  }

  // Reconnect delays: 0.5 s doubling to 8 s, each with jitter (between 50% and 100%).
  function backoff(attempt) {
    const base = Math.min(8000, 500 * Math.pow(2, Math.max(0, attempt)));
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  // A message id for `send` (1 to 64 characters).
  function messageId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  window.ClbProto = { Connection, ask, info, backoff, messageId, wsUrl, SUBPROTOCOL };
})();
