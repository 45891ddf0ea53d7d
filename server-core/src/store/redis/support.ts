/**
 * What every part of the Redis store shares: the key names under one prefix,
 * Lua scripts run by EVALSHA, base64 for binary values, and the coalescing of
 * concurrent hot-path calls into one batched script call with one deadline
 * sweep.
 */
import { createHash } from 'node:crypto';
import type { RedisClientType } from 'redis';

/** A connected node-redis client as returned by `createClient()`. */
export type RedisClient = RedisClientType;

/** Bytes as base64. */
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
/** base64 as bytes (null stays null). */
export const unb64 = (s: string | null | undefined): Uint8Array | null =>
  s === null || s === undefined ? null : new Uint8Array(Buffer.from(s, 'base64'));
/** Decoded base64 as a Uint8Array view of the decoding buffer (no second copy; hot claim path). */
export const view64 = (s: string): Uint8Array => {
  const b = Buffer.from(s, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

/** A Lua script run by EVALSHA with an EVAL fallback on NOSCRIPT. */
export interface Script {
  src: string;
  sha: string;
}
/** A script with its SHA-1, for EVALSHA. */
export const script = (src: string): Script => ({
  src,
  sha: createHash('sha1').update(src).digest('hex'),
});

/** Most claims or token checks one script call carries (bounds the time Redis is busy with it). */
const BATCH_MAX = 128;

/** Longest a batched script call may take before its callers get an error (ms; node-redis's default). */
const BATCH_TIMEOUT_MS = 5_000;

/** A batched script call that Redis did not answer in time (`batchTimeoutMs`). */
export class RedisBatchTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer a batched script call within ${ms} ms`);
    this.name = 'RedisBatchTimeoutError';
  }
}

/**
 * Deadlines for calls in flight with one timer for all of them. node-redis arms an
 * `AbortSignal.timeout` per command (5 s by default) whose timer later fires and builds a
 * `DOMException` — about 2 % of a bundle claim's CPU on the hot path. The batched calls run
 * with that off and are failed by one sweep instead.
 */
function createDeadlines(ms: number): {
  watch<T>(p: Promise<T>): Promise<T>;
  stop(): void;
} {
  const inFlight = new Set<{ at: number; fail: (err: Error) => void }>();
  let timer: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = Date.now();
    for (const c of inFlight) {
      if (now - c.at < ms) continue;
      inFlight.delete(c);
      c.fail(new RedisBatchTimeoutError(ms));
    }
    if (inFlight.size === 0) stop();
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  return {
    watch: (p) =>
      new Promise((resolve, reject) => {
        const c = { at: Date.now(), fail: reject };
        inFlight.add(c);
        timer ??= setInterval(sweep, Math.max(1, Math.floor(ms / 5))).unref();
        p.then(
          (v) => {
            inFlight.delete(c);
            resolve(v);
          },
          (err: Error) => {
            inFlight.delete(c);
            reject(err);
          },
        );
      }),
    stop,
  };
}

/**
 * Coalesce calls made in one turn of the event loop into batches of up to
 * {@link BATCH_MAX}: every request in flight then costs one share of a script
 * call instead of one script call (round trip, command and client overhead).
 */
export function coalesce<A, R>(runBatch: (items: A[]) => Promise<R[]>): (item: A) => Promise<R> {
  let queue: { item: A; resolve: (r: R) => void; reject: (err: unknown) => void }[] = [];
  const flush = (): void => {
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += BATCH_MAX) {
      const batch = all.slice(i, i + BATCH_MAX);
      runBatch(batch.map((b) => b.item)).then(
        (results) => batch.forEach((b, j) => b.resolve(results[j] as R)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      );
    }
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (queue.length === 1) setImmediate(flush);
    });
}

/** Key names of every record, all under `prefix`. */
export function redisKeys(prefix: string) {
  return {
    user: (u: string) => `${prefix}user:${u}`,
    devices: (u: string) => `${prefix}devices:${u}`,
    device: (u: string, d: string) => `${prefix}device:${u}:${d}`,
    otkList: (u: string, d: string, kind: 'x' | 'k') => `${prefix}otk:${u}:${d}:${kind}`,
    otkHash: (u: string, d: string, kind: 'x' | 'k') => `${prefix}otkdata:${u}:${d}:${kind}`,
    otkQuota: (u: string, d: string, claimant: string) => `${prefix}otkq:${u}:${d}:${claimant}`,
    issued: (u: string, d: string) => `${prefix}issued:${u}:${d}`,
    tokenDevices: (u: string) => `${prefix}tokdevs:${u}`,
    revoked: (jti: string) => `${prefix}revoked:${jti}`,
    refresh: (h: string) => `${prefix}refresh:${h}`,
    family: (f: string) => `${prefix}rfam:${f}`,
    families: (u: string, d: string) => `${prefix}rfams:${u}:${d}`,
    group: (g: string) => `${prefix}group:${g}`,
    groupRecords: (g: string) => `${prefix}grouprec:${g}`,
    groupMembers: (g: string) => `${prefix}groupmem:${g}`,
    groupInfo: (g: string) => `${prefix}groupinfo:${g}`,
    /** Groups a user is a current member of (a set of group ids; see sharesGroup). */
    userGroups: (u: string) => `${prefix}usergroups:${u}`,
    /** Active guest accounts (a set of usernames). */
    guests: `${prefix}guests`,
    /** A guest's rename, filed under both its old and its new name (a hash). */
    rename: (u: string) => `${prefix}rename:${u}`,
    directory: `${prefix}directory`,
    /** Groups closed by an operator (a set of group ids). */
    closedGroups: `${prefix}closedgroups`,
    thing: (o: string, t: string) => `${prefix}thing:${o}:${t}`,
    things: (o: string) => `${prefix}things:${o}`,
    blob: (id: string) => `${prefix}blob:${id}`,
    totp: (u: string) => `${prefix}totp:${u}`,
    recovery: (u: string) => `${prefix}recovery:${u}`,
    passkey: (id: string) => `${prefix}passkey:${id}`,
    passkeys: (u: string) => `${prefix}passkeys:${u}`,
    push: (u: string, d: string) => `${prefix}push:${u}:${d}`,
    pushSlot: (u: string, d: string) => `${prefix}pushslot:${u}:${d}`,
    log: `${prefix}ktlog`,
  };
}

/** The four one-time-prekey keys of a device (x25519 list and hash, KEM list and hash). */
export function otkKeys(k: ReturnType<typeof redisKeys>, u: string, d: string): string[] {
  return [k.otkList(u, d, 'x'), k.otkHash(u, d, 'x'), k.otkList(u, d, 'k'), k.otkHash(u, d, 'k')];
}

/** What each part of the Redis store is built from. */
export interface RedisContext {
  client: RedisClient;
  prefix: string;
  /** Clock in ms. */
  now: () => number;
  k: ReturnType<typeof redisKeys>;
  /** Run a script (EVALSHA, EVAL on NOSCRIPT). */
  run: (s: Script, keys: string[], args: string[]) => Promise<unknown>;
  /** Run a script of a coalesced batch: no per-command timeout, one deadline sweep instead. */
  runBatch: (s: Script, keys: string[], args?: string[]) => Promise<unknown>;
  /** Stop the deadline sweep (on close). */
  stop: () => void;
}

/** The shared context of a Redis store on `client`. */
export function createRedisContext(opts: {
  client: RedisClient;
  prefix: string;
  now: () => number;
  batchTimeoutMs: number | undefined;
}): RedisContext {
  const { client } = opts;
  async function run(
    s: Script,
    keys: string[],
    args: string[],
    via: RedisClient = client,
  ): Promise<unknown> {
    try {
      return await via.evalSha(s.sha, { keys, arguments: args });
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      return via.eval(s.src, { keys, arguments: args });
    }
  }

  // The batched hot-path calls: node-redis's per-command timeout off, one sweep instead.
  const batchClient = client.withCommandOptions({ timeout: 0 }) as unknown as RedisClient;
  const deadlines = createDeadlines(opts.batchTimeoutMs ?? BATCH_TIMEOUT_MS);
  const runBatch = (s: Script, keys: string[], args: string[] = []) =>
    deadlines.watch(run(s, keys, args, batchClient));

  return {
    client,
    prefix: opts.prefix,
    now: opts.now,
    k: redisKeys(opts.prefix),
    run: (s, keys, args) => run(s, keys, args),
    runBatch,
    stop: () => deadlines.stop(),
  };
}
