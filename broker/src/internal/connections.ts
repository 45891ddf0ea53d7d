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
  // Token expiry: clients by the second their token expires, and one timer for the earliest
  // second (a timer per connection cost ~0.3 KB each; issue 20). Token expiry is in whole
  // seconds (`exp`), so closing at the second is exact.
  const expiring = new Map<number, Set<Client>>();
  let timer: NodeJS.Timeout | null = null;
  let timerSecond = Infinity;
  const arm = (second: number) => {
    if (second >= timerSecond) return;
    if (timer) clearTimeout(timer);
    timerSecond = second;
    // setTimeout's largest delay; a longer one would fire at once (this one re-arms).
    timer = setTimeout(expire, Math.min(Math.max(0, second * 1000 - Date.now()), 2 ** 31 - 1));
    timer.unref();
  };
  function expire() {
    timer = null;
    timerSecond = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [second, clients] of expiring) {
      if (second * 1000 > now) {
        next = Math.min(next, second);
        continue;
      }
      expiring.delete(second);
      for (const client of clients) {
        metrics.disconnects.inc({ reason: 'token-expired' });
        log.info({ clientId: client.id }, 'token expired: closing');
        client.close();
      }
    }
    if (next !== Infinity) arm(next);
  }
  const expirySecond = (session: ClientSession) =>
    session.expiresAt === undefined ? undefined : Math.ceil(session.expiresAt / 1000);

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
      const second = expirySecond(session);
      if (second !== undefined) {
        let due = expiring.get(second);
        if (!due) expiring.set(second, (due = new Set()));
        due.add(client);
        arm(second);
      }
      return session;
    },

    remove(client) {
      const session = sessionOf(client);
      if (!session) return undefined;
      const second = expirySecond(session);
      const due = second === undefined ? undefined : expiring.get(second);
      if (due?.delete(client) && due.size === 0) expiring.delete(second!);
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
      if (timer) clearTimeout(timer);
      timer = null;
      timerSecond = Infinity;
      expiring.clear();
    },
  };
}
