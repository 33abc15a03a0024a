// A minimal socket.io relay, the kind of thing a team would write instead of clbchat:
// sockets that connect with the same `pair` query parameter are paired, and each "msg"
// event of one is emitted to the other. WebSocket transport only (no long-polling), no
// per-message compression, TCP_NODELAY: the same conditions as the Rust targets.
//
// Run: node relay.js [port]   (port 0 picks a free one; the address is printed on stdout)
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const httpServer = http.createServer({ noDelay: true });
const io = new Server(httpServer, {
  transports: ["websocket"],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  maxHttpBufferSize: 1e6,
});

const waiting = new Map();

io.on("connection", (socket) => {
  const key = String(socket.handshake.query.pair ?? "");
  const partner = waiting.get(key);
  if (partner === undefined) {
    waiting.set(key, socket);
    socket.on("disconnect", () => {
      if (waiting.get(key) === socket) waiting.delete(key);
    });
    return;
  }
  waiting.delete(key);
  socket.on("msg", (m) => partner.emit("msg", m));
  partner.on("msg", (m) => socket.emit("msg", m));
  socket.on("disconnect", () => partner.disconnect(true));
  partner.on("disconnect", () => socket.disconnect(true));
});

httpServer.listen(port, "127.0.0.1", () => {
  const a = httpServer.address();
  console.log(`socketio-relay listens on ws://127.0.0.1:${a.port}`);
});

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
