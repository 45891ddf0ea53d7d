/**
 * Test support: an in-memory MQTT broker and the client connections the engine gets from
 * `createClient({ mqttConnect })`, so engine logic runs without sockets (issue 16).
 *
 * What it keeps of MQTT 3.1.1, because the engine depends on it:
 * - topic filters with `+` and `#` (§4.7);
 * - QoS 1 only: each message is delivered to a session until that session PUBACKs it; messages
 *   not acknowledged when a connection ends are delivered again on the next one (persistent
 *   sessions, `clean: false`), the way internal/inbound.ts expects;
 * - one PUBLISH at a time per connection: the next is handed over only after the previous
 *   one's `handleMessage` callback and PUBACK hand-off ran (mqtt.js reads the next packet only
 *   then — inbound.ts holds PUBACKs back through `_sendPacket`, as it does with mqtt.js);
 * - retained messages (presence), an empty retained payload clearing the topic (§3.3.1.3).
 * Not kept: authentication, ACLs, QoS 0/2, wills. Deliveries are asynchronous (a macrotask), so
 * ordering between connections is as loose as on a real broker.
 */
import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient, Packet } from 'mqtt';

/** A QoS 1 message waiting in a session. */
interface Queued {
  messageId: number;
  topic: string;
  payload: Uint8Array;
  /** Handed to the current connection (not acknowledged yet). */
  sent: boolean;
}

interface Session {
  clientId: string;
  filters: Set<string>;
  queue: Queued[];
  nextId: number;
  conn: FakeConnection | null;
}

/** One PUBACK the broker received. */
export interface Ack {
  clientId: string;
  topic: string;
  messageId: number;
}

/** The in-memory broker. */
export interface MemoryBroker {
  /** Hand to `createClient({ mqttConnect })`. */
  connect(options: IClientOptions): MqttClient;
  /** Publish from outside the clients (key server notices, presence). */
  publish(topic: string, payload: Uint8Array | string, options?: { retain?: boolean }): void;
  /** Every PUBLISH from any client, in order (topic, bytes, publishing client id). */
  readonly published: { clientId: string; topic: string; payload: Uint8Array }[];
  /** Every PUBACK received, in order. */
  readonly acks: Ack[];
  /** Messages a session still holds unacknowledged. */
  pending(clientId: string): number;
  /** End a client's connection as a network failure would (it reconnects on its own). */
  drop(clientId: string): void;
  /** Called on every client PUBLISH before it is routed; return false to drop it. */
  intercept: ((clientId: string, topic: string, payload: Uint8Array) => boolean) | null;
}

/** True when `topic` matches the subscription `filter` (MQTT 3.1.1 §4.7). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const bytes = (p: Uint8Array | string): Uint8Array =>
  typeof p === 'string' ? new TextEncoder().encode(p) : new Uint8Array(p);

/** What mqtt.js's `_sendPacket` looks like to inbound.ts. */
type SendPacket = (packet: Packet, cb?: (err?: Error) => void) => void;

/**
 * The client side: the subset of mqtt.js's `MqttClient` the engine uses, with the same events
 * (`connect`, `close`, `offline`, `reconnect`, `error`, `message`).
 */
class FakeConnection extends EventEmitter {
  connected = false;
  disconnected = false;
  /** True once `end` was called: no reconnect. */
  private ended = false;
  /** The PUBLISH being handed over (the next waits for its PUBACK hand-off). */
  private busy = false;
  readonly options: IClientOptions;

  constructor(
    private readonly broker: Broker,
    options: IClientOptions,
  ) {
    super();
    this.options = { ...options };
    setTimeout(() => this.open(), 0);
  }

  /** mqtt.js's default: emit `message`, then let it acknowledge. */
  handleMessage = (packet: { topic: string; payload: Uint8Array }, callback: () => void): void => {
    this.emit('message', packet.topic, packet.payload, packet);
    callback();
  };

  /** Where PUBACKs leave the client (inbound.ts wraps it). */
  _sendPacket: SendPacket = (packet, cb) => {
    if (packet.cmd === 'puback' && this.connected)
      this.broker.ack(this, (packet as { messageId: number }).messageId);
    cb?.();
  };

  private open(): void {
    if (this.ended) return;
    this.broker.attach(this);
    this.connected = true;
    this.disconnected = false;
    this.emit('connect', { cmd: 'connack', returnCode: 0, sessionPresent: true });
    this.pump();
  }

  /** Hand over the next waiting message, one at a time. */
  pump(): void {
    if (this.busy || !this.connected) return;
    const next = this.broker.next(this);
    if (!next) return;
    this.busy = true;
    next.sent = true;
    const packet = {
      cmd: 'publish' as const,
      topic: next.topic,
      payload: next.payload,
      qos: 1 as const,
      messageId: next.messageId,
      dup: false,
      retain: false,
    };
    setTimeout(() => {
      if (!this.connected) {
        this.busy = false;
        return;
      }
      this.handleMessage(packet, () => {
        this._sendPacket({ cmd: 'puback', messageId: next.messageId }, () => {
          this.busy = false;
          setTimeout(() => this.pump(), 0);
        });
      });
    }, 0);
  }

  subscribe(
    topics: string | string[],
    _opts?: unknown,
    cb?: (err: Error | null, granted: { topic: string; qos: number }[]) => void,
  ): this {
    const list = typeof topics === 'string' ? [topics] : topics;
    setTimeout(() => {
      for (const t of list) this.broker.subscribe(this, t);
      cb?.(
        null,
        list.map((topic) => ({ topic, qos: 1 })),
      );
      this.pump();
    }, 0);
    return this;
  }

  unsubscribe(topic: string | string[]): this {
    for (const t of typeof topic === 'string' ? [topic] : topic) this.broker.unsubscribe(this, t);
    return this;
  }

  publish(
    topic: string,
    payload: Uint8Array | string,
    opts?: { retain?: boolean } | ((err?: Error) => void),
    cb?: (err?: Error) => void,
  ): this {
    const done = typeof opts === 'function' ? opts : cb;
    const retain = typeof opts === 'object' && opts.retain === true;
    const clientId = this.options.clientId ?? '';
    const data = bytes(payload);
    setTimeout(() => {
      this.broker.route(clientId, topic, data, retain);
      done?.();
    }, 0);
    return this;
  }

  /** The connection went away (not by `end`): mqtt.js reconnects after `reconnectPeriod`. */
  lose(): void {
    if (!this.connected) return;
    this.close();
    this.emit('offline');
    const period = this.options.reconnectPeriod ?? 1000;
    if (period > 0 && !this.ended)
      setTimeout(() => {
        if (this.ended) return;
        this.emit('reconnect');
        this.open();
      }, period);
  }

  private close(): void {
    this.connected = false;
    this.busy = false;
    this.broker.detach(this);
    this.emit('close');
  }

  end(_force?: boolean, cb?: () => void): this {
    this.ended = true;
    if (this.connected) this.close();
    this.disconnected = true;
    if (cb) setTimeout(cb, 0);
    return this;
  }

  endAsync(): Promise<void> {
    return new Promise((resolve) => this.end(false, resolve));
  }
}

class Broker implements MemoryBroker {
  readonly published: MemoryBroker['published'] = [];
  readonly acks: Ack[] = [];
  intercept: MemoryBroker['intercept'] = null;
  private readonly sessions = new Map<string, Session>();
  private readonly retained = new Map<string, Uint8Array>();

  connect = (options: IClientOptions): MqttClient =>
    new FakeConnection(this, options) as unknown as MqttClient;

  private session(clientId: string): Session {
    let s = this.sessions.get(clientId);
    if (!s) {
      s = { clientId, filters: new Set(), queue: [], nextId: 1, conn: null };
      this.sessions.set(clientId, s);
    }
    return s;
  }

  attach(conn: FakeConnection): void {
    const s = this.session(conn.options.clientId ?? '');
    if (conn.options.clean) {
      s.filters.clear();
      s.queue = [];
    }
    // A second connection with the same client id takes the session over (§3.1.4-2).
    if (s.conn && s.conn !== conn) s.conn.lose();
    s.conn = conn;
    // Unacknowledged messages go again on the new connection.
    for (const q of s.queue) q.sent = false;
  }

  detach(conn: FakeConnection): void {
    const s = this.sessions.get(conn.options.clientId ?? '');
    if (s?.conn === conn) s.conn = null;
  }

  next(conn: FakeConnection): Queued | undefined {
    const s = this.sessions.get(conn.options.clientId ?? '');
    return s?.conn === conn ? s.queue.find((q) => !q.sent) : undefined;
  }

  ack(conn: FakeConnection, messageId: number): void {
    const s = this.sessions.get(conn.options.clientId ?? '');
    if (!s) return;
    const i = s.queue.findIndex((q) => q.messageId === messageId && q.sent);
    if (i < 0) return;
    const [q] = s.queue.splice(i, 1);
    this.acks.push({ clientId: s.clientId, topic: q!.topic, messageId });
  }

  subscribe(conn: FakeConnection, filter: string): void {
    const s = this.session(conn.options.clientId ?? '');
    if (s.filters.has(filter)) return;
    s.filters.add(filter);
    for (const [topic, payload] of this.retained) {
      if (topicMatches(filter, topic)) this.enqueue(s, topic, payload);
    }
  }

  unsubscribe(conn: FakeConnection, filter: string): void {
    this.sessions.get(conn.options.clientId ?? '')?.filters.delete(filter);
  }

  private enqueue(s: Session, topic: string, payload: Uint8Array): void {
    s.queue.push({ messageId: s.nextId++, topic, payload, sent: false });
    s.conn?.pump();
  }

  route(clientId: string, topic: string, payload: Uint8Array, retain: boolean): void {
    if (clientId) {
      this.published.push({ clientId, topic, payload });
      if (this.intercept && !this.intercept(clientId, topic, payload)) return;
    }
    if (retain) {
      if (payload.length === 0) this.retained.delete(topic);
      else this.retained.set(topic, payload);
    }
    for (const s of this.sessions.values()) {
      if ([...s.filters].some((f) => topicMatches(f, topic))) this.enqueue(s, topic, payload);
    }
  }

  publish(topic: string, payload: Uint8Array | string, options: { retain?: boolean } = {}): void {
    this.route('', topic, bytes(payload), options.retain === true);
  }

  pending(clientId: string): number {
    return this.sessions.get(clientId)?.queue.length ?? 0;
  }

  drop(clientId: string): void {
    this.sessions.get(clientId)?.conn?.lose();
  }
}

/** A new, empty in-memory broker. */
export function createMemoryBroker(): MemoryBroker {
  return new Broker();
}
