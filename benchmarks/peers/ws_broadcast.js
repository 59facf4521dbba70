// The tutorial's broadcast chat on Node's `ws` (Debian's node-ws): every text to every client, prefixed as the
// tutorial does. A peer for benchmarks/peers.sh: NODE_PATH=/usr/share/nodejs node ws_broadcast.js PORT
'use strict';
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || 8765);
const server = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws', perMessageDeflate: false });
server.on('connection', (socket) => {
  socket.on('message', (data) => {
    const text = 'Mensagem recebida: ' + data.toString();
    for (const client of server.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(text);
    }
  });
});
server.on('listening', () => console.log(`listening on ${port}`));
