/**
 * A local stand-in for a browser's push service (RFC 8030), for tests: the real ones (FCM,
 * Mozilla autopush, Apple) are not reachable from the test machines. It holds the browser's
 * side of one or more subscriptions (a P-256 key pair and an auth secret per path) and, for
 * every push it receives, checks the request the way a push service and the browser would:
 *
 * - the VAPID `Authorization: vapid t=<JWT>, k=<key>` header (RFC 8292): an ES256 JWT whose
 *   signature verifies with `k`, `aud` = the endpoint's origin, `exp` within 24 h, a `sub`;
 * - the body (RFC 8291 / RFC 8188 `aes128gcm`), decrypted with the subscription's private key.
 *
 * Written from the RFCs with node:crypto alone, independently of the `web-push` library that
 * the key server uses, so a test passes only when both sides agree on the standards.
 */
import {
  createDecipheriv,
  createECDH,
  createHmac,
  createPublicKey,
  randomBytes,
  verify,
  type ECDH,
} from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One push as received and checked. */
export interface ReceivedPush {
  path: string;
  headers: IncomingHttpHeaders;
  /** The VAPID public key the request was signed with (base64url). */
  vapidKey: string;
  /** The JWT's claims. */
  claims: { aud: string; exp: number; sub: string };
  /** The decrypted body. */
  plaintext: Buffer;
  /** The raw body as sent over the wire. */
  body: Buffer;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** The browser's half of a subscription. */
interface BrowserKeys {
  ecdh: ECDH;
  auth: Buffer;
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 §3.4 + RFC 8188 §2: decrypt one single-record `aes128gcm` body. */
export function decryptAes128gcm(body: Buffer, keys: BrowserKeys): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  if (idlen !== 65) throw new Error(`keyid is ${idlen} bytes, expected the 65-byte as_public`);
  if (ciphertext.length > rs) throw new Error('more than one record');
  const uaPublic = keys.ecdh.getPublicKey();
  const ecdhSecret = keys.ecdh.computeSecret(asPublic);
  const prkKey = hmac(keys.auth, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const d = createDecipheriv('aes-128-gcm', cek, nonce);
  d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([
    d.update(ciphertext.subarray(0, ciphertext.length - 16)),
    d.final(),
  ]);
  // The last record ends with the delimiter 0x02 followed by zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('missing last-record delimiter');
  return padded.subarray(0, end);
}

/** Verify the VAPID header; returns the key and claims or throws saying what is wrong. */
export function checkVapid(
  authorization: string | undefined,
  endpointOrigin: string,
  nowMs = Date.now(),
): { vapidKey: string; claims: ReceivedPush['claims'] } {
  const m = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/.exec(
    authorization ?? '',
  );
  if (!m) throw new Error(`Authorization is not "vapid t=…, k=…": ${authorization}`);
  const [jwt, k] = [m[1]!, m[2]!];
  const [h, p, s] = jwt.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
  if (header.alg !== 'ES256') throw new Error(`JWT alg ${header.alg}, expected ES256`);
  const point = Buffer.from(k, 'base64url');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  if (!ok) throw new Error('VAPID JWT signature does not verify with k');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as ReceivedPush['claims'];
  if (claims.aud !== endpointOrigin) throw new Error(`aud ${claims.aud} ≠ ${endpointOrigin}`);
  const now = Math.floor(nowMs / 1000);
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) throw new Error('exp out of range');
  if (!/^(mailto:|https:)/.test(claims.sub ?? '')) throw new Error(`bad sub ${claims.sub}`);
  return { vapidKey: k, claims };
}

/** A running receiver. */
export interface PushReceiver {
  origin: string;
  /** A new subscription at `/{name}` as the browser's `PushSubscription.toJSON()` would give it. */
  subscribe(name: string): { endpoint: string; keys: { p256dh: string; auth: string } };
  /** Pushes received and checked so far, in order. */
  received: ReceivedPush[];
  /** Requests that failed a check, with the reason. */
  rejected: { path: string; reason: string }[];
  /** Answer pushes to `path` with `status` from now on (e.g. 410 Gone). */
  answer(path: string, status: number): void;
  close(): Promise<void>;
}

/** Start a receiver on 127.0.0.1 (a free port). */
export async function startPushReceiver(): Promise<PushReceiver> {
  const subs = new Map<string, BrowserKeys>();
  const statuses = new Map<string, number>();
  const received: ReceivedPush[] = [];
  const rejected: PushReceiver['rejected'] = [];
  let origin = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      const body = Buffer.concat(chunks);
      try {
        const keys = subs.get(path);
        if (!keys) throw new Error(`no subscription at ${path}`);
        if (req.method !== 'POST') throw new Error(`method ${req.method}`);
        if (req.headers['content-encoding'] !== 'aes128gcm')
          throw new Error(`Content-Encoding ${req.headers['content-encoding']}`);
        if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) throw new Error('no TTL header');
        const vapid = checkVapid(req.headers.authorization, origin);
        const plaintext = decryptAes128gcm(body, keys);
        received.push({ path, headers: req.headers, ...vapid, plaintext, body, at: Date.now() });
        res.writeHead(statuses.get(path) ?? 201).end();
      } catch (err) {
        rejected.push({ path, reason: (err as Error).message });
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    received,
    rejected,
    subscribe(name) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      subs.set(`/${name}`, { ecdh, auth });
      return {
        endpoint: `${origin}/${name}`,
        keys: {
          p256dh: ecdh.getPublicKey().toString('base64url'),
          auth: auth.toString('base64url'),
        },
      };
    },
    answer(path, status) {
      statuses.set(path, status);
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
