/**
 * The byte streams the broker accepts: MQTT over TCP (optionally TLS) and over WebSocket on a
 * path of any Node HTTP server. Every connection passes the per-address cap, the packet-size
 * guard and the strict MQTT 3.1.1 checks (strict.ts) before Aedes sees it, and its packets of
 * one loop turn leave in one write.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { ConnectionCounter, guardPacketSize, type PacketSizeLimits } from '../limits.ts';
import type { BrokerMetrics } from '../metrics.ts';
import type { BrokerLogger } from '../types.ts';
import { coalesceWrites } from './coalesce.ts';
import { enforceStrict311 } from './strict.ts';

const ADDRESS = Symbol('sotto.transports.address');
const LISTENER = Symbol('sotto.transports.listener');

/** A socket the per-address cap admitted, with its address. */
type AdmittedSocket = Socket & { [ADDRESS]: string };

/** A socket a TCP listener accepted, with the listener's set of open sockets. */
type ListedSocket = Socket & { [LISTENER]: Set<Socket> };

/** A closed socket leaves its listener's set (one function for all sockets). */
function leaveListener(this: ListedSocket) {
  this[LISTENER].delete(this);
}

/** A TCP (or TLS) listener. */
export interface TcpListener {
  port: number;
  close(): Promise<void>;
}

/** The transports of one broker. */
export interface Transports {
  /** Hand an accepted byte stream to the broker. */
  handle: (conn: Duplex, req?: IncomingMessage) => void;
  /** Serve MQTT over WebSocket on `server` at `path` (upgrade requests only). Returns a detach function. */
  attachWebSocket: (server: HttpServer, path?: string) => () => void;
  /** Listen for MQTT over TCP (TLS when `tls` is given). Port 0 picks a free one. */
  listenTcp: (port: number, host?: string, tls?: TlsOptions) => Promise<TcpListener>;
  /** Detach every WebSocket server and close every listener with its sockets. */
  close: () => Promise<void>;
}

/** Dependencies of {@link createTransports}. */
export interface TransportOptions {
  aedes: Aedes;
  limits: PacketSizeLimits & { maxConnectionsPerIp: number };
  metrics: BrokerMetrics;
  log: BrokerLogger;
}

/** Create the transports; nothing listens until asked. */
export function createTransports(opts: TransportOptions): Transports {
  const { aedes, limits, metrics, log } = opts;
  const counter = new ConnectionCounter(limits.maxConnectionsPerIp);
  const sizeLimits = {
    maxConnectBytes: limits.maxConnectBytes,
    maxPacketBytes: limits.maxPacketBytes,
  };
  const closers: (() => Promise<void>)[] = [];

  // One of each callback for all connections (a closure per connection costs memory).
  const onGuardViolation = (reason: string) => {
    metrics.disconnects.inc({ reason });
    log.info({ reason }, 'packet guard closed a connection');
  };
  const onStrictViolation = (reason: string) => {
    metrics.disconnects.inc({ reason: 'protocol-violation' });
    log.info({ reason }, 'malformed packet: connection closed');
  };
  const handle = (conn: Duplex, req?: IncomingMessage) => {
    guardPacketSize(conn, sizeLimits, onGuardViolation);
    // A connection's packets of one loop turn leave in one write (internal/coalesce.ts).
    coalesceWrites(conn);
    const client = aedes.handle(conn, req);
    // Strict MQTT 3.1.1 where Aedes is lenient (internal/strict.ts).
    enforceStrict311(client, conn, onStrictViolation);
  };

  // A closed socket gives back its address's slot: one listener function for all sockets, the
  // address kept on the socket.
  function onSocketClose(this: AdmittedSocket) {
    counter.release(this[ADDRESS]);
  }
  const admit = (socket: Socket): boolean => {
    const ip = socket.remoteAddress ?? 'unknown';
    if (!counter.acquire(ip)) {
      metrics.connectsRefused.inc({ reason: 'PER_IP_CAP' });
      socket.destroy();
      return false;
    }
    (socket as AdmittedSocket)[ADDRESS] = ip;
    socket.on('close', onSocketClose);
    socket.setNoDelay(true);
    return true;
  };

  return {
    handle,

    attachWebSocket(server, path = '/mqtt') {
      const wss = new WebSocketServer({
        noServer: true,
        perMessageDeflate: false,
        // One WebSocket message carries at most one MQTT packet from mqtt.js; bound it too.
        maxPayload: limits.maxPacketBytes + 16,
        handleProtocols: (protocols) =>
          protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
      });
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const pathname = (req.url ?? '').split('?', 1)[0];
        if (pathname !== path) {
          // Not ours: leave it to other upgrade handlers, or close it if there are none.
          if (server.listenerCount('upgrade') <= 1) socket.destroy();
          return;
        }
        if (!admit(socket as Socket)) return;
        wss.handleUpgrade(req, socket, head, (ws) => {
          const stream = createWebSocketStream(ws);
          // Aedes writes each packet in pieces (fixed header, topic, id, payload) into a stream
          // that mqtt-packet corks until the next tick. The ws Duplex has no `_writev`, so every
          // piece went out as its own WebSocket frame and socket write; one frame per tick
          // instead (MQTT over WebSocket lets a frame carry several or partial packets).
          stream._writev = (chunks, callback) => {
            const parts = chunks.map((c) => c.chunk as Buffer);
            const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
            stream._write(data, 'binary', callback);
          };
          stream.on('error', () => undefined);
          handle(stream, req);
        });
      };
      server.on('upgrade', onUpgrade);
      const detach = () => {
        server.off('upgrade', onUpgrade);
        for (const ws of wss.clients) ws.terminate();
        wss.close();
      };
      closers.push(() => {
        detach();
        return Promise.resolve();
      });
      return detach;
    },

    async listenTcp(port, host = '0.0.0.0', tls) {
      const onSocket = (socket: Socket) => {
        if (admit(socket)) handle(socket);
      };
      const server: NetServer = tls ? createTlsServer(tls, onSocket) : createNetServer(onSocket);
      // Every TCP socket, TLS handshakes included, so that closing the listener ends them all.
      const sockets = new Set<Socket>();
      server.on('connection', (s: ListedSocket) => {
        sockets.add(s);
        s[LISTENER] = sockets;
        s.on('close', leaveListener);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      let closed: Promise<void> | null = null;
      const close = () =>
        (closed ??= new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        }));
      closers.push(close);
      return { port: actual, close };
    },

    async close() {
      await Promise.all(closers.splice(0).map((c) => c()));
    },
  };
}
