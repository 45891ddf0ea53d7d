/**
 * Test fixtures: a key server built with `buildApp` on an in-memory SQLite
 * store (or any store), and real keys made with @sotto/crypto — identities,
 * device certificates, signed prekeys, X-Wing prekeys, one-time prekeys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeDeviceCertificate,
  encodeKemPrekey,
  encodeMembershipRecord,
  encodeOneTimePrekey,
  encodeSignedPrekey,
  generateDeviceKeys,
  generateKemPrekey,
  generateOneTimePrekey,
  generateSignedPrekey,
  generateUserIdentity,
  issueDeviceCertificate,
  ready,
  toBase64,
  type DeviceKeys,
  type DeviceKind,
  type KeyPair,
  type MembershipRecord,
} from '@sotto/crypto';
import { buildApp, type KeyServerApp } from '../src/app.ts';
import type { AppConfig, DeepPartial } from '../src/config.ts';
import {
  createMemoryAclEvents,
  createSqliteStore,
  type AclEvent,
  type AclEvents,
  type Store,
  type WakeBus,
} from '@sotto/server-core/store';
import { generateSigningKey } from '@sotto/server-core/tokens';

/** Cheap Argon2 for tests; production defaults are checked in accounts.test.ts. */
export const FAST_ARGON2 = { memoryCost: 256, timeCost: 1, parallelism: 1 };

/** A key server under test plus what it published. */
export interface TestServer {
  app: KeyServerApp;
  store: Store;
  events: AclEvent[];
  notices: { topic: string; notice: Record<string, unknown> }[];
  signingKey: ReturnType<typeof generateSigningKey>;
  blobDir: string;
  close(): Promise<void>;
}

/** Build a test server; rate limits are off unless the config turns them on. */
export async function makeServer(
  opts: {
    config?: DeepPartial<AppConfig>;
    store?: Store;
    now?: () => number;
    /** ACL bus (closed with the server); the in-process one when omitted. */
    aclEvents?: AclEvents;
    /** Wake-up bus the app listens to (push tests). */
    wakes?: Pick<WakeBus, 'subscribe'>;
  } = {},
): Promise<TestServer> {
  await ready();
  const store = opts.store ?? createSqliteStore({ filename: ':memory:' });
  const aclEvents = opts.aclEvents ?? createMemoryAclEvents();
  const events: AclEvent[] = [];
  aclEvents.subscribe((e) => events.push(e));
  const notices: TestServer['notices'] = [];
  const blobDir = mkdtempSync(join(tmpdir(), 'sotto-blobs-'));
  const signingKey = generateSigningKey();
  const app = await buildApp({
    store,
    aclEvents,
    signingKey,
    blobDir,
    ...(opts.wakes ? { wakes: opts.wakes } : {}),
    publisher: {
      publish(topic, payload) {
        notices.push({ topic, notice: JSON.parse(Buffer.from(payload).toString('utf8')) });
      },
    },
    config: {
      argon2: FAST_ARGON2,
      ...opts.config,
      rateLimit: { enabled: false, ...opts.config?.rateLimit },
    },
    ...(opts.now ? { now: opts.now } : {}),
  });
  await app.ready();
  return {
    app,
    store,
    events,
    notices,
    signingKey,
    blobDir,
    async close() {
      await app.close();
      await store.close();
      await aclEvents.close();
      rmSync(blobDir, { recursive: true, force: true });
    },
  };
}

/** `authorization` header for a token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A token's claims, read without verifying (the server did that when it issued it). */
export function tokenClaims(token: string): Record<string, unknown> & { sub: string; jti: string } {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  > & { sub: string; jti: string };
}

/** A membership record as a route takes it (base64 of its encoding). */
export const encodeRecord = (rec: MembershipRecord): string =>
  toBase64(encodeMembershipRecord(rec));

/** Sign up and log in; returns the session. */
export async function signupAndLogin(
  app: KeyServerApp,
  username: string,
  deviceId = 'd1',
  password = 'correct horse battery',
): Promise<{ accessToken: string; refreshToken: string; deviceId: string }> {
  const s = await app.inject({
    method: 'POST',
    url: '/v1/accounts',
    payload: { username, password },
  });
  if (s.statusCode !== 201 && s.statusCode !== 409)
    throw new Error(`signup ${s.statusCode} ${s.body}`);
  return login(app, username, deviceId, password);
}

/** Log in with a device id. */
export async function login(
  app: KeyServerApp,
  username: string,
  deviceId = 'd1',
  password = 'correct horse battery',
): Promise<{ accessToken: string; refreshToken: string; deviceId: string }> {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/sessions',
    payload: { username, password, deviceId },
  });
  if (r.statusCode !== 200) throw new Error(`login ${r.statusCode} ${r.body}`);
  return r.json();
}

/** A device's keys and the JSON body that publishes them. */
export interface DeviceUpload {
  uik: KeyPair;
  device: DeviceKeys;
  body: {
    certificate: string;
    signedPrekey: string;
    kemPrekey: string;
    oneTimePrekeys: string[];
    oneTimeKemPrekeys: string[];
  };
}

/** Real keys for `username`/`deviceId` under `uik` (a fresh UIK when absent). */
export function makeDeviceUpload(
  username: string,
  deviceId: string,
  opts: {
    uik?: KeyPair;
    kind?: DeviceKind;
    otks?: number;
    kemOtks?: number;
    firstId?: number;
  } = {},
): DeviceUpload {
  const uik = opts.uik ?? generateUserIdentity();
  const device = generateDeviceKeys();
  const cert = issueDeviceCertificate(uik, {
    username,
    deviceId,
    kind: opts.kind ?? 'user',
    signingKey: device.signing.publicKey,
    identityKey: device.identity.publicKey,
    issuedAt: Date.now(),
  });
  const first = opts.firstId ?? 1;
  const spk = generateSignedPrekey(device.signing, 1, Date.now()).prekey;
  const kem = generateKemPrekey(device.signing, 1, true).prekey;
  const otks = Array.from({ length: opts.otks ?? 5 }, (_, i) =>
    toBase64(encodeOneTimePrekey(generateOneTimePrekey(first + i).prekey)),
  );
  const kemOtks = Array.from({ length: opts.kemOtks ?? 2 }, (_, i) =>
    toBase64(encodeKemPrekey(generateKemPrekey(device.signing, 1000 + first + i, false).prekey)),
  );
  return {
    uik,
    device,
    body: {
      certificate: toBase64(encodeDeviceCertificate(cert)),
      signedPrekey: toBase64(encodeSignedPrekey(spk)),
      kemPrekey: toBase64(encodeKemPrekey(kem)),
      oneTimePrekeys: otks,
      oneTimeKemPrekeys: kemOtks,
    },
  };
}

/** Sign up, log in and publish keys for one device. */
export async function registeredDevice(
  app: KeyServerApp,
  username: string,
  deviceId = 'd1',
  opts: Parameters<typeof makeDeviceUpload>[2] = {},
): Promise<DeviceUpload & { accessToken: string; refreshToken: string }> {
  const session = await signupAndLogin(app, username, deviceId);
  const upload = makeDeviceUpload(username, deviceId, opts);
  const r = await app.inject({
    method: 'PUT',
    url: `/v1/devices/${deviceId}/keys`,
    headers: bearer(session.accessToken),
    payload: upload.body,
  });
  if (r.statusCode !== 200) throw new Error(`upload ${r.statusCode} ${r.body}`);
  return { ...upload, accessToken: session.accessToken, refreshToken: session.refreshToken };
}

/** A guest account's first session, as `POST /v1/guests` answers it. */
export interface GuestSession {
  username: string;
  deviceId: string;
  accessToken: string;
  refreshToken: string;
}

/** Continue as guest (`POST /v1/guests`). */
export async function guestSession(srv: TestServer): Promise<GuestSession> {
  const r = await srv.app.inject({ method: 'POST', url: '/v1/guests', payload: {} });
  if (r.statusCode !== 201) throw new Error(`guest: ${r.statusCode} ${r.body}`);
  return r.json();
}

/** A guest with published keys (it needs a UIK to sign a join record or a rename). */
export async function guestWithKeys(
  srv: TestServer,
): Promise<GuestSession & { uik: KeyPair; device: DeviceKeys }> {
  const g = await guestSession(srv);
  const up = makeDeviceUpload(g.username, g.deviceId);
  const r = await srv.app.inject({
    method: 'PUT',
    url: `/v1/devices/${g.deviceId}/keys`,
    headers: bearer(g.accessToken),
    payload: up.body,
  });
  if (r.statusCode !== 200) throw new Error(`guest keys: ${r.statusCode} ${r.body}`);
  return { ...g, uik: up.uik, device: up.device };
}
