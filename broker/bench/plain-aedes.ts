/**
 * Plain Aedes for the broker benchmark (`--plain-aedes`): Aedes 1.2 with its defaults
 * (in-memory persistence and mqemitter, no authentication, no hooks), TCP with TCP_NODELAY
 * and WebSocket through `ws` + `createWebSocketStream`, as an Aedes application without
 * Sotto's checks would run it. The ceiling our broker's design starts from. Same IPC as
 * bench-broker.ts: configuration in argv[2], `ready`, `mem` and `exit` over IPC.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { serveBenchIpc } from './bench-ipc.ts';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { tcpPort: number; wsPort: number };
const aedes = await Aedes.createBroker();
const tcp = createNetServer((socket) => {
  socket.setNoDelay(true);
  aedes.handle(socket);
});
await new Promise<void>((r) => tcp.listen(cfg.tcpPort, '127.0.0.1', r));
const http = createHttpServer((_q, r) => r.writeHead(404).end());
const wss = new WebSocketServer({ server: http, path: '/mqtt', perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  req.socket.setNoDelay(true);
  aedes.handle(createWebSocketStream(ws));
});
await new Promise<void>((r) => http.listen(cfg.wsPort, '127.0.0.1', r));
serveBenchIpc();
