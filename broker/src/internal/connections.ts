/**
 * The registry of this broker's authenticated connections, indexed by client id and by account
 * for revocation and presence, with a timer per connection that closes it when its access token
 * expires (the client reconnects with a fresh one).
 */
import type { Client } from 'aedes';
import type { ClientSession } from './handlers/state.ts';
import type { Identity } from '../identity.ts';
import type { BrokerMetrics } from '../metrics.ts';
import type { BrokerLogger } from '../types.ts';

/** Connections of one broker. */
export interface ConnectionRegistry {
  /** Register a client Aedes announced (`client` event); returns its session, if authenticated. */
  add(client: Client): ClientSession | undefined;
  /** Forget a client (`clientDisconnect` event); returns its session, if it had one. */
  remove(client: Client): ClientSession | undefined;
  /** The connected client with this id. */
  byId(clientId: string): Client | undefined;
  /** Connected clients of a user's devices (key: username), a thing or a service (see `accountKey`). */
  byAccount(key: string): Iterable<Client>;
  /** How many devices of `username` are connected here. */
  onlineDevices(username: string): number;
  /** Identities of the connected clients. */
  identities(): Identity[];
  /** Bytes waiting on all connected clients' sockets. */
  writableBytes(): number;
  /** Stop every expiry timer (broker close). */
  close(): void;
}

/**
 * The account index key of an identity: a user's devices share the username (so revoking a
 * user reaches all of them); a thing, a service and an operator-namespace client are their own
 * accounts (`operator:` keys cannot collide with usernames, which hold no `:`).
 */
export function accountKey(id: Identity): string {
  switch (id.kind) {
    case 'device':
      return id.username;
    case 'thing':
      return `thing:${id.owner}`;
    case 'service':
      return `service:${id.instance}`;
    case 'operator':
      return `operator:${id.clientId}`;
  }
}

/** Dependencies of {@link createConnectionRegistry}. */
export interface ConnectionRegistryOptions {
  sessionOf: (client: Client) => ClientSession | undefined;
  metrics: BrokerMetrics;
  log: BrokerLogger;
}

/** Create an empty registry. */
export function createConnectionRegistry(opts: ConnectionRegistryOptions): ConnectionRegistry {
  const { sessionOf, metrics, log } = opts;
  const clientsById = new Map<string, Client>();
  const clientsByAccount = new Map<string, Set<Client>>();
  const expiryTimers = new Map<Client, NodeJS.Timeout>();

  return {
    add(client) {
      const session = sessionOf(client);
      if (!session) return undefined;
      clientsById.set(client.id, client);
      const key = accountKey(session.identity);
      let set = clientsByAccount.get(key);
      if (!set) clientsByAccount.set(key, (set = new Set()));
      set.add(client);
      metrics.connections.inc();
      if (session.expiresAt !== undefined) {
        const ms = Math.max(0, session.expiresAt - Date.now());
        const t = setTimeout(
          () => {
            metrics.disconnects.inc({ reason: 'token-expired' });
            log.info({ clientId: client.id }, 'token expired: closing');
            client.close();
          },
          // setTimeout's largest delay; a longer one would fire at once.
          Math.min(ms, 2 ** 31 - 1),
        );
        t.unref();
        expiryTimers.set(client, t);
      }
      return session;
    },

    remove(client) {
      const t = expiryTimers.get(client);
      if (t) clearTimeout(t);
      expiryTimers.delete(client);
      const session = sessionOf(client);
      if (!session) return undefined;
      if (clientsById.get(client.id) === client) clientsById.delete(client.id);
      const key = accountKey(session.identity);
      const set = clientsByAccount.get(key);
      if (set?.delete(client)) metrics.connections.dec();
      if (set && set.size === 0) clientsByAccount.delete(key);
      return session;
    },

    byId: (clientId) => clientsById.get(clientId),

    byAccount: (key) => clientsByAccount.get(key) ?? [],

    onlineDevices(username) {
      let n = 0;
      for (const c of clientsByAccount.get(username) ?? [])
        if (sessionOf(c)?.identity.kind === 'device') n++;
      return n;
    },

    identities() {
      const out: Identity[] = [];
      for (const c of clientsById.values()) {
        const s = sessionOf(c);
        if (s) out.push(s.identity);
      }
      return out;
    },

    writableBytes() {
      let total = 0;
      for (const c of clientsById.values())
        total += (c.conn as { writableLength?: number }).writableLength ?? 0;
      return total;
    },

    close() {
      for (const t of expiryTimers.values()) clearTimeout(t);
      expiryTimers.clear();
    },
  };
}
