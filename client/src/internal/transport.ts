/**
 * The engine's lowest layer (docs/CLIENT.md "Architecture"): the account's tokens (login
 * tokens before the account record exists, refreshed pairs persisted), the one MQTT connection
 * (connect, subscriptions, failover backoff, PUBACK-after-store via inbound.ts) and the
 * connection state. It knows nothing of what the bytes mean: received messages go, in batches,
 * to the handler given to {@link Transport.connect}.
 */
import { deviceClientId, fromBase64, fromUtf8 } from '@sotto/crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  createHttpClient,
  isApiError,
  type HttpClient,
  type HttpClientOptions,
  type Tokens,
} from '../http.ts';
import type { AccountRecord, ClientStore } from '../store/types.ts';
import type { ClientEvents, ConnectionState } from './context.ts';
import type { Emitter } from './emitter.ts';
import { applyBackoff, brokerServers } from './failover.ts';
import { attachInbound, type Inbound, type InboundMessage } from './inbound.ts';
import { createPublishWindow } from './publish-window.ts';

/** Opens an MQTT connection (bind the broker URL): `(o) => mqtt.connect('mqtt://host:1883', o)`. */
export type MqttConnect = (options: IClientOptions) => MqttClient;

/** mqtt.js types its payload as a Node `Buffer`; it takes any Uint8Array (mqtt-packet measures it with `Buffer.byteLength`, which reads views). */
type MqttPayload = Parameters<MqttClient['publish']>[1];

/** MQTT CONNACK / DISCONNECT codes that mean "bad credentials" (3.1.1: 4, 5; 5.0: 134, 135). */
const AUTH_FAILED = new Set([4, 5, 134, 135]);

/** Seconds left on a JWT (0 if unreadable). */
export function tokenSecondsLeft(token: string, nowMs: number): number {
  try {
    const part = token.split('.')[1] ?? '';
    const json = JSON.parse(fromUtf8(fromBase64(part))) as { exp?: number };
    return typeof json.exp === 'number' ? json.exp - nowMs / 1000 : 0;
  } catch {
    return 0;
  }
}

function isHttpClient(h: TransportDeps['http']): h is HttpClient {
  return typeof (h as Partial<HttpClient>).login === 'function';
}

/** What {@link createTransport} needs. */
export interface TransportDeps {
  store: ClientStore;
  /** A ready HttpClient (the caller manages its tokens) or the options to make one. */
  http: HttpClient | Omit<HttpClientOptions, 'getTokens' | 'onTokens'>;
  mqttConnect: MqttConnect | undefined;
  brokers: readonly string[] | undefined;
  now: () => number;
  events: Emitter<ClientEvents>;
}

/** How {@link Transport.connect} reports what arrives. */
export interface ConnectHandlers {
  /** Topics to subscribe to (again on every connect). */
  topics: Iterable<string>;
  /** Messages that arrived together, in order; acknowledged once this resolves. */
  onMessages(batch: InboundMessage[]): Promise<void>;
  /** Most messages given to {@link ConnectHandlers.onMessages} at once (inbound.ts). */
  batchSize: number;
  /** Subscribed after a (re)connect. */
  onOnline(): void;
  /** Periodic work for as long as this connection lives (stopped on disconnect and sign-out). */
  timers: readonly { ms: number; run: () => void }[];
}

/** The transport layer of one engine. */
export interface Transport {
  readonly http: HttpClient;
  readonly state: ConnectionState;
  /** The loaded account (tokens included), null before register/login/start. */
  account: AccountRecord | null;
  /**
   * Tokens from a login whose account record does not exist yet (a new or linking device, an
   * identity reset in progress): the HTTP client uses them, and refreshed pairs land here.
   */
  pendingTokens: Tokens | null;
  /** True while an MQTT connection exists (connected or reconnecting). */
  readonly connected: boolean;
  readonly mqttConnect: MqttConnect | undefined;
  readonly brokers: readonly string[] | undefined;
  /**
   * Publish at QoS 1; dropped while there is no connection (the outbox re-sends). At most
   * `PUBLISH_WINDOW` await their PUBACK, the others wait in order (`publish-window.ts`).
   */
  publish(topic: string, bytes: Uint8Array): void;
  /** Resolves once every publish made before the call is acknowledged, failed or dropped. */
  published(): Promise<void>;
  /** Messages received on the current connection and not handled yet (inbound.ts); 0 without one. */
  inboundBacklog(): number;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Connect with the account's token; resolves once subscribed (or after each broker failed once). */
  connect(handlers: ConnectHandlers): Promise<void>;
  /** Stop the timers and leave the broker (a graceful DISCONNECT, never hanging on a dead one). */
  disconnect(): Promise<void>;
  /** Report the state `closed` (the engine was closed). */
  setClosed(): void;
}

/** Create the transport; nothing connects until {@link Transport.connect}. */
export function createTransport(deps: TransportDeps): Transport {
  const { store, events, now } = deps;
  let account: AccountRecord | null = null;
  let pendingTokens: Tokens | null = null;
  let mqttClient: MqttClient | null = null;
  /** The message handling of the current connection's client. */
  let inbound: Inbound | null = null;
  let state: ConnectionState = 'offline';
  const subscriptions = new Set<string>();
  const timers: ReturnType<typeof setInterval>[] = [];
  const publishes = createPublishWindow((topic, bytes, done) => {
    if (!mqttClient) {
      done();
      return;
    }
    mqttClient.publish(topic, bytes as MqttPayload, { qos: 1 }, (err) => {
      if (err) events.emit('error', err);
      done();
    });
  });

  const http: HttpClient = isHttpClient(deps.http)
    ? deps.http
    : createHttpClient({
        ...deps.http,
        getTokens: () =>
          pendingTokens ??
          // After a restart only the refresh token is stored (the access token lives in
          // memory only): an empty access token makes the HTTP client refresh first.
          (account?.refreshToken
            ? { accessToken: account.accessToken ?? '', refreshToken: account.refreshToken }
            : null),
        onTokens: (t) => onTokens(t),
      });

  const setState = (s: ConnectionState, error?: string): void => {
    state = s;
    events.emit('connection', error === undefined ? { state: s } : { state: s, error });
  };

  async function onTokens(t: Tokens): Promise<void> {
    if (!account || pendingTokens) {
      // A device waiting to be linked, or one resetting its identity, refreshed its login
      // tokens: keep the new pair (the stored account still holds the old device's).
      if (pendingTokens) pendingTokens = t;
      return;
    }
    account = { ...account, accessToken: t.accessToken, refreshToken: t.refreshToken };
    await store.putAccount(account);
    if (mqttClient) mqttClient.options.password = t.accessToken;
  }

  /**
   * A background token refresh failed. A refused refresh token means this device's session
   * was ended elsewhere (password change, device removed, token reuse): stop reconnecting
   * with dead credentials, forget them, and say so (`signed-out`); log in again to continue.
   */
  const onRefreshFailed = (err: unknown): void => {
    if (!isApiError(err, 'INVALID_REFRESH_TOKEN')) {
      events.emit('error', err);
      return;
    }
    if (state === 'signed-out') return;
    for (const t of timers.splice(0)) clearInterval(t);
    const c = mqttClient;
    mqttClient = null;
    inbound = null;
    publishes.reset();
    c?.end(true);
    if (account) {
      account = { ...account, accessToken: null, refreshToken: null };
      void store.putAccount(account).catch((e: unknown) => events.emit('error', e));
    }
    setState('signed-out', 'this device was signed out (password changed or device removed)');
  };

  const refreshIfBelow = (seconds: number): void => {
    const a = account;
    if (a?.accessToken && tokenSecondsLeft(a.accessToken, now()) < seconds)
      void http.refresh().catch(onRefreshFailed);
  };

  async function freshToken(): Promise<string> {
    const a = account;
    if (!a?.accessToken || tokenSecondsLeft(a.accessToken, now()) < 60) await http.refresh();
    return account!.accessToken!;
  }

  const every = (ms: number, fn: () => void): void => {
    const t = setInterval(fn, ms);
    (t as { unref?: () => void }).unref?.();
    timers.push(t);
  };

  async function connect(handlers: ConnectHandlers): Promise<void> {
    const connectFn = deps.mqttConnect;
    const a = account;
    if (!connectFn || mqttClient || !a) return;
    const password = await freshToken();
    const clientId = deviceClientId(a.username, a.deviceId);
    for (const t of handlers.topics) subscriptions.add(t);
    setState('connecting');
    const servers = deps.brokers ? brokerServers(deps.brokers) : null;
    const client = connectFn({
      ...(servers ? { servers } : {}),
      clientId,
      username: clientId,
      password,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      reconnectOnConnackError: true,
      resubscribe: true,
    });
    mqttClient = client;
    const period = client.options.reconnectPeriod ?? 0;
    if (servers && period > 0)
      applyBackoff(client, servers.length, { baseMs: period, maxMs: 30_000 });
    // Acknowledge (PUBACK) only after the message is processed and stored; messages that queue
    // up meanwhile are handled as one batch (internal/inbound.ts).
    inbound = attachInbound(
      client,
      (batch) => handlers.onMessages(batch),
      (err) => events.emit('error', err),
      handlers.batchSize,
    );
    let first = true;
    let failedAttempts = 0;
    const ready = new Promise<void>((resolve) => {
      client.on('connect', () => {
        client.subscribe([...subscriptions], { qos: 1 }, (err, granted) => {
          if (err) events.emit('error', err);
          for (const g of granted ?? []) {
            if (g.qos === 128) events.emit('error', new Error(`subscription refused: ${g.topic}`));
          }
          setState('online');
          if (first) {
            first = false;
            resolve();
          }
          handlers.onOnline();
        });
      });
      client.on('error', (err) => {
        const code = (err as { code?: number }).code;
        setState('offline', err.message);
        // Bad credentials (expired/revoked token): refresh before the next attempt.
        if (code !== undefined && AUTH_FAILED.has(code)) void http.refresh().catch(onRefreshFailed);
        // With several brokers, give up waiting only once each has been tried.
        if (first && ++failedAttempts >= (servers?.length ?? 1)) {
          first = false;
          resolve();
        }
      });
    });
    client.on('offline', () => setState('offline'));
    client.on('reconnect', () => {
      setState('connecting');
      refreshIfBelow(30);
    });
    // Keep the MQTT password fresh before expiry (the broker disconnects expired tokens).
    every(30_000, () => refreshIfBelow(120));
    for (const t of handlers.timers) every(t.ms, t.run);
    await ready;
  }

  async function disconnect(): Promise<void> {
    for (const t of timers.splice(0)) clearInterval(t);
    const c = mqttClient;
    mqttClient = null;
    inbound = null;
    publishes.reset();
    if (c) {
      await Promise.race([c.endAsync(), new Promise((r) => setTimeout(r, 2000))]);
      if (!c.disconnected) c.end(true);
    }
  }

  return {
    http,
    get state() {
      return state;
    },
    get account() {
      return account;
    },
    set account(a) {
      account = a;
    },
    get pendingTokens() {
      return pendingTokens;
    },
    set pendingTokens(t) {
      pendingTokens = t;
    },
    get connected() {
      return mqttClient !== null;
    },
    mqttConnect: deps.mqttConnect,
    brokers: deps.brokers,
    publish(topic, bytes) {
      if (!mqttClient) return; // Stays in the outbox; sent on start.
      publishes.publish(topic, bytes);
    },
    published: () => publishes.settled(),
    inboundBacklog: () => inbound?.backlog() ?? 0,
    subscribe(topic) {
      if (subscriptions.has(topic)) return;
      subscriptions.add(topic);
      mqttClient?.subscribe(topic, { qos: 1 }, (err, granted) => {
        if (err) events.emit('error', err);
        if (granted?.some((g) => g.qos === 128))
          events.emit('error', new Error(`subscription refused: ${topic}`));
      });
    },
    unsubscribe(topic) {
      if (!subscriptions.delete(topic)) return;
      mqttClient?.unsubscribe(topic);
    },
    connect,
    disconnect,
    setClosed: () => setState('closed'),
  };
}
