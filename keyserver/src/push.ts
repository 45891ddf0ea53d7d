/**
 * Web Push wake-ups (docs/PROTOCOL.md §7 "Wake-up pushes", docs/SECURITY.md "Web Push").
 *
 * When a broker queues a message for a device with no connection, the key server sends that
 * device's push subscription a push (RFC 8030) whose body is encrypted to the browser
 * (RFC 8291, `aes128gcm`) and signed for the push service with the server's VAPID key
 * (RFC 8292). The body is a {@link PushMessage}: "something arrived", plus the group's
 * conversation id for a group message — never a sender and nothing of the message.
 *
 * The `web-push` library builds the request (VAPID JWT, encryption); this module sends it, so
 * that it alone decides where the key server connects: an endpoint is a URL chosen by a client,
 * and must not reach the server's own network (SSRF). Registration refuses endpoints that are
 * not https or name a private host, and every send resolves the host again through a lookup
 * that refuses private, loopback and link-local addresses (a name that later resolves to
 * 127.0.0.1 gets nowhere). `allowPrivateEndpoints` (tests only) lifts both.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { dirname } from 'node:path';
import webpush from 'web-push';
import { encodePushMessage, type PushMessage, type WakeEvent } from '@sotto/crypto/wire';
import type { Store } from '@sotto/server-core/store';

export type { PushMessage };

/** A VAPID key pair (P-256), base64url as browsers take the public key (`applicationServerKey`). */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/** The VAPID key file is not a key pair. */
export class VapidKeyError extends Error {
  override readonly name = 'VapidKeyError';
}

/** A push endpoint the key server will not fetch; `message` says why. */
export class PushEndpointError extends Error {
  override readonly name = 'PushEndpointError';
}

/** Generate a VAPID key pair. */
export function generateVapidKeys(): VapidKeys {
  const k = webpush.generateVAPIDKeys();
  return { publicKey: k.publicKey, privateKey: k.privateKey };
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Read the VAPID key pair from `file`, creating it (0600) on first start. */
export function loadOrCreateVapidKeys(file: string): VapidKeys {
  if (existsSync(file)) {
    let k: Partial<VapidKeys>;
    try {
      k = JSON.parse(readFileSync(file, 'utf8')) as Partial<VapidKeys>;
    } catch (err) {
      throw new VapidKeyError(`${file} is not JSON`, { cause: err });
    }
    const ok = (v: unknown, bytes: number) =>
      typeof v === 'string' && B64URL.test(v) && Buffer.from(v, 'base64url').length === bytes;
    if (!ok(k.publicKey, 65) || !ok(k.privateKey, 32))
      throw new VapidKeyError(`${file} does not hold a VAPID key pair {publicKey, privateKey}`);
    return { publicKey: k.publicKey!, privateKey: k.privateKey! };
  }
  const keys = generateVapidKeys();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(keys)}\n`, { mode: 0o600, flag: 'wx' });
  return keys;
}

/** Addresses a push must never reach: this host, private networks, link-local, reserved. */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

/** True for an address on the public internet (IPv4-mapped IPv6 judged by its IPv4 part). */
export function isPublicAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const v4 = mapped?.[1] ?? (isIP(ip) === 4 ? ip : undefined);
  if (v4 !== undefined) return !PRIVATE.check(v4, 'ipv4');
  if (isIP(ip) !== 6) return false;
  return !PRIVATE.check(ip, 'ipv6') && !/^::ffff:/i.test(ip);
}

/**
 * Check a push endpoint at registration: https, no credentials in it, and a host that is a
 * public name or address. Throws {@link PushEndpointError}; `allowPrivate` (tests) accepts
 * http and any host.
 */
export function checkPushEndpoint(endpoint: string, allowPrivate: boolean): URL {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch (err) {
    throw new PushEndpointError('endpoint is not a URL', { cause: err });
  }
  if (u.username !== '' || u.password !== '')
    throw new PushEndpointError('endpoint must not carry credentials');
  if (u.protocol !== 'https:' && !(allowPrivate && u.protocol === 'http:'))
    throw new PushEndpointError('endpoint must be https');
  if (allowPrivate) return u;
  // `localhost.` is `localhost`: a trailing dot must not dodge the name check.
  const host = u.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (isIP(host) !== 0) {
    if (!isPublicAddress(host)) throw new PushEndpointError('endpoint is a private address');
  } else if (!host.includes('.') || /(^|\.)(localhost|local|internal|home\.arpa)$/i.test(host)) {
    throw new PushEndpointError('endpoint is not a public host name');
  }
  return u;
}

/**
 * `dns.lookup` for push requests: fails when any answer is a private address, so a public-looking
 * name that resolves (or is re-pointed) to the server's network gets no connection.
 */
export function publicOnlyLookup(
  hostname: string,
  options: LookupAllOptions | { all?: false },
  callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    if (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address)))
      return callback(new PushEndpointError(`${hostname} resolves to a private address`), '');
    const first = addresses[0]!;
    // Node's connection code asks for all addresses (happy eyeballs) or for one.
    if (options.all === true) callback(null, addresses);
    else callback(null, first.address, first.family);
  });
}

/** What became of one wake-up. */
export type WakeOutcome =
  'sent' | 'no-subscription' | 'inactive' | 'coalesced' | 'gone' | 'refused' | 'failed';

/** Options of {@link createPushSender}. */
export interface PushSenderOptions {
  store: Pick<
    Store,
    'getPushSubscription' | 'deletePushSubscription' | 'claimPushSlot' | 'isDeviceActive'
  >;
  vapid: VapidKeys;
  /** VAPID `sub`: `mailto:` or `https:`. */
  subject: string;
  /** At most one push per device per this many ms. */
  intervalMs: number;
  /** Tests only: http and private addresses allowed. */
  allowPrivateEndpoints: boolean;
  /** Each outcome, for metrics and logs. */
  onOutcome?: (outcome: WakeOutcome, event: WakeEvent, detail?: string) => void;
}

/** Sends wake-up pushes. */
export interface PushSender {
  /** The VAPID public key browsers subscribe with. */
  readonly publicKey: string;
  /** Wake a device if it has a subscription and its slot is free. Never throws. */
  wake(event: WakeEvent): Promise<WakeOutcome>;
}

/** How long a push service keeps an undelivered wake-up (s); the message waits on the broker. */
const PUSH_TTL_S = 24 * 3600;
/** Longest a push request may take (ms). */
const PUSH_TIMEOUT_MS = 10_000;

/** POST one built request; resolves with the status code. */
function post(
  details: {
    endpoint: string;
    method: string;
    headers: Record<string, string | number>;
    body: Buffer | null;
  },
  allowPrivate: boolean,
): Promise<number> {
  const u = checkPushEndpoint(details.endpoint, allowPrivate);
  const send = u.protocol === 'http:' ? httpRequest : httpsRequest;
  const opts: RequestOptions = {
    method: details.method,
    headers: details.headers,
    timeout: PUSH_TIMEOUT_MS,
    ...(allowPrivate ? {} : { lookup: publicOnlyLookup as LookupFunction }),
  };
  return new Promise((resolve, reject) => {
    const req = send(u, opts, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('push request timed out')));
    req.on('error', reject);
    req.end(details.body ?? undefined);
  });
}

/** Create the sender. */
export function createPushSender(opts: PushSenderOptions): PushSender {
  const { store, vapid } = opts;
  const report = (outcome: WakeOutcome, event: WakeEvent, detail?: string): WakeOutcome => {
    opts.onOutcome?.(outcome, event, detail);
    return outcome;
  };
  return {
    publicKey: vapid.publicKey,
    async wake(event) {
      const { username, deviceId } = event;
      try {
        const sub = await store.getPushSubscription(username, deviceId);
        if (!sub) return report('no-subscription', event);
        if (!(await store.isDeviceActive(username, deviceId))) {
          await store.deletePushSubscription(username, deviceId);
          return report('inactive', event);
        }
        if (!(await store.claimPushSlot(username, deviceId, opts.intervalMs)))
          return report('coalesced', event);
        const details = webpush.generateRequestDetails(
          { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
          Buffer.from(encodePushMessage(event)),
          {
            vapidDetails: {
              subject: opts.subject,
              publicKey: vapid.publicKey,
              privateKey: vapid.privateKey,
            },
            TTL: PUSH_TTL_S,
            urgency: 'high',
            contentEncoding: 'aes128gcm',
          },
        );
        const status = await post(details, opts.allowPrivateEndpoints);
        if (status === 404 || status === 410) {
          // RFC 8030 §7.3: the subscription expired or was withdrawn; it will never work again.
          await store.deletePushSubscription(username, deviceId);
          return report('gone', event, String(status));
        }
        if (status < 200 || status > 299) return report('failed', event, `status ${status}`);
        return report('sent', event);
      } catch (err) {
        if (err instanceof PushEndpointError) return report('refused', event, err.message);
        return report('failed', event, (err as Error).message);
      }
    },
  };
}

/** The VAPID subject when none is configured: the https public URL, or a mailto: at its host. */
export function defaultPushSubject(publicUrl: string): string {
  const u = new URL(publicUrl);
  return u.protocol === 'https:' ? u.origin : `mailto:admin@${u.hostname}`;
}
