/**
 * The engine of the account open on this page and its lifecycle: the account's Dexie store and
 * a read connection to it, an engine on mqtt.js over WebSocket at `/mqtt`, the connection with
 * a retry while the server cannot be reached (the stored history stays readable meanwhile),
 * presence followed for contacts, and the engine's events fanned out to the views' listeners
 * (mapped by `engine-events.ts`).
 */
import mqtt from 'mqtt';
import { createClient, type CallSignal, type SottoClient } from '@sotto/client';
import { createDexieStore } from '@sotto/client/dexie';
import type { ClientStore } from './engine-types.ts';
import {
  MessengerError,
  type Account,
  type ConnectionState,
  type MessengerEvent,
} from './messenger.ts';
import { notSignedIn, toMessengerError } from './messenger-errors.ts';
import { ConnectionStates, mapEngineEvents, SentConversations } from './engine-events.ts';
import { storeNameFor } from './local-settings.ts';
import { keepaliveTimer } from './keepalive-timer.ts';
import { acquireEngineLock, type EngineLock } from './engine-lock.ts';
import { benchTrace } from './bench-trace.ts';

/** Retry period while the server is unreachable (ms). */
export const RETRY_MS = 3000;

/** One account's engine at a time, opened and closed by the adapter. */
export class EngineHost {
  /** What the header shows. */
  connection: ConnectionState = 'offline';
  /** The signed-in device (null before sign-in and after log out). */
  account: Account | null = null;

  private client: SottoClient | null = null;
  private store: ClientStore | null = null;
  private readonly listeners = new Set<(e: MessengerEvent) => void>();
  private readonly callListeners = new Set<(s: CallSignal) => void>();
  private readonly onCall = (s: CallSignal): void => {
    for (const l of this.callListeners) {
      try {
        l(s);
      } catch (err) {
        console.error('call listener failed', err);
      }
    }
  };
  private readonly watched = new Set<string>();
  private readonly connectionStates = new ConnectionStates();
  private retry: ReturnType<typeof setTimeout> | undefined;
  private detach: (() => void) | undefined;
  /** The account's engine lock while an engine is open (`engine-lock.ts`). */
  private lock: EngineLock | null = null;
  /** Messages sent from this page, by id: their receipts name the conversation (engine-events.ts). */
  readonly sent = new SentConversations();

  constructor(private readonly baseUrl: string) {}

  /** The open engine; FAILED "not signed in" when none is. */
  engine(): SottoClient {
    if (this.client === null) throw notSignedIn();
    return this.client;
  }

  /** The open engine, or null. */
  engineOrNull(): SottoClient | null {
    return this.client;
  }

  /** The open account's store and a read connection to its database. */
  local(): { store: ClientStore } {
    if (this.store === null) throw notSignedIn();
    return { store: this.store };
  }

  /** The open account's store, or null. */
  storeOrNull(): ClientStore | null {
    return this.store;
  }

  /** Add a listener of the views' events; returns the function that removes it. */
  subscribe(listener: (e: MessengerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Add a listener of incoming call signalling; returns the function that removes it. */
  subscribeCalls(listener: (s: CallSignal) => void): () => void {
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }

  /** Tell every listener; one that throws does not stop the others. */
  readonly emit = (e: MessengerEvent): void => {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        console.error('listener failed', err);
      }
    }
  };

  /**
   * Open the account's database (with its app-lock passphrase, if it has one) and an engine on
   * it, once the account's engine lock is ours: while the service worker handles a wake-up push
   * with its own engine on this store, the page waits for it to finish (`engine-lock.ts`).
   */
  async open(username: string, passphrase?: string): Promise<SottoClient> {
    this.lock?.release();
    this.lock = await acquireEngineLock(username);
    const name = storeNameFor(username);
    const store = createDexieStore({ name, ...(passphrase !== undefined ? { passphrase } : {}) });
    const wsUrl = `${this.baseUrl.replace(/^http/, 'ws')}/mqtt`;
    const client = createClient({
      store,
      http: { baseUrl: this.baseUrl },
      mqttConnect: (o) => mqtt.connect(wsUrl, { ...o, timerVariant: keepaliveTimer() }),
      ...(benchTrace ? { trace: benchTrace } : {}),
    });
    this.store = store;
    this.client = client;
    client.on('call', this.onCall);
    const unmap = mapEngineEvents(client, {
      emit: this.emit,
      watch: (u) => this.watch(u),
      store: () => this.store,
      me: () => this.account?.username,
      connection: (c) => this.setConnection(this.connectionStates.map(c.state), c.error),
      sent: this.sent,
    });
    this.detach = () => {
      unmap();
      client.off('call', this.onCall);
    };
    return client;
  }

  /** Stop the engine and close its store (the account stays on this browser). */
  async close(): Promise<void> {
    clearTimeout(this.retry);
    this.detach?.();
    this.detach = undefined;
    await this.client?.close().catch(() => undefined);
    await this.store?.close().catch(() => undefined);
    this.client = null;
    this.store = null;
    this.watched.clear();
    this.lock?.release();
    this.lock = null;
  }

  /** Tell the views the connection changed. */
  setConnection(state: ConnectionState, detail?: string): void {
    this.connection = state;
    this.emit({ type: 'connection', state, ...(detail !== undefined ? { detail } : {}) });
  }

  /** Follow `username`'s presence (once per engine; never our own). */
  watch(username: string): void {
    if (this.client === null || this.watched.has(username) || username === this.account?.username) {
      return;
    }
    this.watched.add(username);
    this.client.watchPresence(username);
  }

  /** Connect; when the server is unreachable, keep showing local history and retry. */
  async start(): Promise<void> {
    const client = this.engine();
    try {
      await client.start();
      for (const c of await this.local().store.listContacts()) this.watch(c.username);
    } catch (err) {
      const e = toMessengerError(err);
      if (e instanceof MessengerError && e.code === 'UNREACHABLE') {
        this.setConnection('unreachable', e.message);
        clearTimeout(this.retry);
        this.retry = setTimeout(() => {
          if (this.client === client) void this.start();
        }, RETRY_MS);
        return;
      }
      throw e;
    }
  }
}
