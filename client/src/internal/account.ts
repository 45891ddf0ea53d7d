/**
 * Account and device setup (DESIGN.md §3, issue 5): sign up, log in, create
 * the user identity key on the first device, device keys and certificate,
 * prekey upload, one-time prekey top-up and weekly signed prekey rotation.
 */
import {
  decodeDeviceCertificate,
  encodeDeviceCertificate,
  encodeKemPrekey,
  encodeOneTimePrekey,
  encodeSignedPrekey,
  fromBase64,
  generateDeviceKeys,
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
  generateUserIdentity,
  issueDeviceCertificate,
  toBase64,
  type DeviceKind,
  type KeyPair,
  type LocalDevice,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import type { HttpClient, KeyUpload, LoginResult } from '../http.ts';
import type { AccountRecord, ClientStore, PrekeySecretRecord, StoreOp } from '../store/types.ts';
import type { Ctx } from './context.ts';
import { parseConversation } from './conversation.ts';
import { ownIdentityReplacedOp } from './transparency.ts';

const NEXT_PREKEY_ID = 'prekey.nextId';

/** Allocate `count` consecutive prekey ids (one counter for every kind, so ids never clash). */
async function allocateIds(store: ClientStore, count: number): Promise<number> {
  const next = (await store.getSetting<number>(NEXT_PREKEY_ID)) ?? 1;
  await store.setSetting(NEXT_PREKEY_ID, next + count);
  return next;
}

/** The crypto view of this device. */
export function localDevice(account: AccountRecord): LocalDevice {
  if (!account.certificate) throw new ClientError('NOT_REGISTERED', 'device has no certificate');
  return {
    certificate: decodeDeviceCertificate(account.certificate),
    keys: { signing: account.signing, identity: account.identity },
  };
}

/** Make and store `x` one-time X25519 and `k` one-time X-Wing prekeys; return their encodings. */
async function makeOneTimePrekeys(
  store: ClientStore,
  account: AccountRecord,
  x: number,
  k: number,
  now: number,
): Promise<Pick<KeyUpload, 'oneTimePrekeys' | 'oneTimeKemPrekeys'>> {
  const start = await allocateIds(store, x + k);
  const otks = generateOneTimePrekeys(start, x);
  const kems = Array.from({ length: k }, (_, i) =>
    generateKemPrekey(account.signing, start + x + i, false),
  );
  const secrets: PrekeySecretRecord[] = [
    ...otks.map((p) => ({
      kind: 'onetime' as const,
      id: p.prekey.id,
      publicKey: p.prekey.publicKey,
      secretKey: p.secretKey,
      createdAt: now,
    })),
    ...kems.map((p) => ({
      kind: 'kem-onetime' as const,
      id: p.prekey.id,
      publicKey: p.prekey.publicKey,
      secretKey: p.secretKey,
      createdAt: now,
    })),
  ];
  // Secrets are stored before the public halves leave the device.
  await store.batch([{ op: 'putPrekeys', prekeys: secrets }]);
  return {
    oneTimePrekeys: otks.map((p) => toBase64(encodeOneTimePrekey(p.prekey))),
    oneTimeKemPrekeys: kems.map((p) => toBase64(encodeKemPrekey(p.prekey))),
  };
}

/** A new signed X25519 prekey, stored; returns its encoding. */
async function makeSignedPrekey(
  store: ClientStore,
  account: AccountRecord,
  now: number,
): Promise<string> {
  const id = await allocateIds(store, 1);
  const spk = generateSignedPrekey(account.signing, id, now);
  await store.batch([
    {
      op: 'putPrekeys',
      prekeys: [
        {
          kind: 'signed',
          id,
          publicKey: spk.prekey.publicKey,
          secretKey: spk.secretKey,
          createdAt: now,
        },
      ],
    },
  ]);
  return toBase64(encodeSignedPrekey(spk.prekey));
}

/** Options of {@link setUpDevice}. */
export interface LoginOptions {
  kind?: DeviceKind;
  /** Ask the server for this device id (new devices). */
  deviceId?: string;
  /**
   * The user lost every device: make a new identity key, replacing the old one
   * on the server (contacts see a key change). Without it, a user who already
   * has a key gets LINK_REQUIRED.
   */
  resetIdentity?: boolean;
  /**
   * The second factor (TOTP or recovery code) when the account has two-factor on; without it
   * such a login throws `MfaRequiredError` (`MFA_REQUIRED`), and the caller asks for the code.
   */
  totp?: string;
  /** Name of a new device on the devices page (default from the key server). */
  deviceName?: string;
  platform?: 'web' | 'cli';
  /**
   * Get the tokens another way than the password (a passkey sign-in, `loginWithPasskey`): called
   * with the device id to ask for; the password is then not used.
   */
  session?: (deviceId: string | undefined) => Promise<LoginResult>;
}

/**
 * Log in and make sure this device is fully set up: on a new device create
 * (first device) the UIK, device keys and certificate, and upload everything.
 * Returns the stored account.
 */
export async function logIn(
  ctx: Pick<Ctx, 'store' | 'http' | 'now' | 'options'>,
  username: string,
  password: string,
  options: LoginOptions,
  setTokens: (t: { accessToken: string; refreshToken: string }) => void,
): Promise<AccountRecord> {
  const { store, http } = ctx;
  let existing = await store.getAccount();
  if (existing && existing.username !== username) {
    throw new ClientError(
      'BAD_INPUT',
      `this state belongs to ${existing.username}, not ${username}`,
    );
  }
  const pending = await store.getSetting<{ username: string; deviceId: string }>(
    PENDING_LINK_DEVICE,
  );
  const wanted =
    existing?.deviceId ??
    options.deviceId ??
    (pending?.username === username ? pending.deviceId : undefined);
  const res = options.session
    ? await options.session(wanted)
    : await http.login(username, password, wanted, {
        ...(options.totp === undefined ? {} : { totp: options.totp }),
        ...(options.deviceName === undefined ? {} : { deviceName: options.deviceName }),
        ...(options.platform === undefined ? {} : { platform: options.platform }),
      });
  setTokens(res);
  const user = await http.getUser(username);
  if (existing && existing.deviceId === res.deviceId && existing.certificate) {
    const account = { ...existing, accessToken: res.accessToken, refreshToken: res.refreshToken };
    if (user.uik === null || user.uik === toBase64(existing.uik.publicKey)) {
      if (options.resetIdentity) {
        throw new ClientError(
          'BAD_INPUT',
          'this device is set up with the current identity key: reset it with resetIdentity (sotto reset-identity)',
        );
      }
      await store.putAccount(account);
      return account;
    }
    // The identity was reset on another device, which removed this one: its keys no longer
    // count. Retire them; the device is then like a new one (link it, or reset again).
    await store.batch([
      ...(await retireIdentityOps(store, username, await allPrekeys(store), ctx.now())),
      { op: 'putAccount', account: { ...account, certificate: null } },
    ]);
    existing = { ...account, certificate: null };
  }
  let uik;
  if (user.uik === null || options.resetIdentity) {
    uik = generateUserIdentity();
  } else if (existing && user.uik === toBase64(existing.uik.publicKey)) {
    uik = existing.uik;
  } else {
    // Remember the device id the server gave us: linking reuses it (PROTOCOL.md §13).
    await store.setSetting(PENDING_LINK_DEVICE, { username, deviceId: res.deviceId });
    throw new ClientError(
      'LINK_REQUIRED',
      `${username} already has an identity key on another device; link this device from it`,
    );
  }
  const kind = options.kind ?? 'user';
  return setUpDevice(
    ctx,
    { username, deviceId: res.deviceId, kind, uik, tokens: res },
    options.resetIdentity === true && user.uik !== null ? { password } : null,
  );
}

/** Setting that holds `{ username, deviceId }` of a login that ended in LINK_REQUIRED. */
export const PENDING_LINK_DEVICE = 'link.pendingDevice';

/**
 * Make this device's keys and its certificate signed by `uik`, store the
 * account and upload everything. Used by log-in (first device, or the same
 * UIK) and by linking (the UIK came from another device). `reset` replaces the
 * user's UIK, proving the password to the key server.
 */
export async function setUpDevice(
  ctx: Pick<Ctx, 'store' | 'http' | 'now' | 'options'>,
  device: {
    username: string;
    deviceId: string;
    kind: DeviceKind;
    uik: KeyPair;
    tokens: { accessToken: string; refreshToken: string };
  },
  reset: { password: string } | null = null,
): Promise<AccountRecord> {
  const now = ctx.now();
  const keys = generateDeviceKeys();
  const certificate = issueDeviceCertificate(device.uik, {
    username: device.username,
    deviceId: device.deviceId,
    kind: device.kind,
    signingKey: keys.signing.publicKey,
    identityKey: keys.identity.publicKey,
    issuedAt: now,
  });
  const account: AccountRecord = {
    username: device.username,
    deviceId: device.deviceId,
    kind: device.kind,
    accessToken: device.tokens.accessToken,
    refreshToken: device.tokens.refreshToken,
    uik: device.uik,
    signing: keys.signing,
    identity: keys.identity,
    certificate: encodeDeviceCertificate(certificate),
    signedPrekeyAt: now,
    createdAt: now,
  };
  await ctx.store.putAccount(account);
  await uploadAllKeys(ctx, account, reset);
  return account;
}

/**
 * Upload certificate, a fresh signed prekey, a last-resort KEM prekey and one-time prekeys;
 * with `reset`, as an identity reset carrying the password (the key server checks it).
 */
export async function uploadAllKeys(
  ctx: Pick<Ctx, 'store' | 'http' | 'now' | 'options'>,
  account: AccountRecord,
  reset: { password: string } | null = null,
): Promise<void> {
  const { store, http } = ctx;
  const now = ctx.now();
  const signedPrekey = await makeSignedPrekey(store, account, now);
  const kemId = await allocateIds(store, 1);
  const kem = generateKemPrekey(account.signing, kemId, true);
  await store.batch([
    {
      op: 'putPrekeys',
      prekeys: [
        {
          kind: 'kem',
          id: kemId,
          publicKey: kem.prekey.publicKey,
          secretKey: kem.secretKey,
          createdAt: now,
          lastResort: true,
        },
      ],
    },
  ]);
  const otks = await makeOneTimePrekeys(
    store,
    account,
    ctx.options.oneTimePrekeys,
    ctx.options.oneTimeKemPrekeys,
    now,
  );
  await http.uploadKeys(account.deviceId, {
    certificate: toBase64(account.certificate!),
    signedPrekey,
    kemPrekey: toBase64(encodeKemPrekey(kem.prekey)),
    ...otks,
    ...(reset ? { resetIdentity: true, password: reset.password } : {}),
  });
}

/**
 * Periodic key maintenance: top up one-time prekeys below the threshold and
 * rotate the signed prekey when it is older than the rotation period (the old
 * secret is kept one more period for PREKEY messages still in flight).
 */
export async function maintainPrekeys(ctx: Ctx): Promise<void> {
  const { store, http } = ctx;
  const account = ctx.account();
  const counts = await http.countPrekeys(account.deviceId);
  const upload: KeyUpload = {};
  const x = counts.oneTimePrekeys < ctx.options.prekeyThreshold ? ctx.options.oneTimePrekeys : 0;
  const k =
    counts.oneTimeKemPrekeys < ctx.options.prekeyThreshold / 2 ? ctx.options.oneTimeKemPrekeys : 0;
  if (x || k) Object.assign(upload, await makeOneTimePrekeys(store, account, x, k, ctx.now()));
  const now = ctx.now();
  const ops: StoreOp[] = [];
  if (now - account.signedPrekeyAt >= ctx.options.signedPrekeyMaxAgeMs) {
    upload.signedPrekey = await makeSignedPrekey(store, account, now);
    ops.push({ op: 'putAccount', account: { ...account, signedPrekeyAt: now } });
    for (const old of await store.listPrekeys('signed')) {
      if (now - old.createdAt >= 2 * ctx.options.signedPrekeyMaxAgeMs) {
        ops.push({ op: 'deletePrekey', kind: 'signed', id: old.id });
      }
    }
  }
  if (Object.keys(upload).length === 0) return;
  // Every upload names the device certificate it belongs to.
  await http.uploadKeys(account.deviceId, {
    certificate: toBase64(account.certificate!),
    ...upload,
  });
  if (ops.length) await store.batch(ops);
}

/** Decode a base64url UIK from the server. */
export function decodeUik(b64: string): Uint8Array {
  return fromBase64(b64);
}

/** Signature of the `http` the account module needs (for tests). */
export type AccountHttp = Pick<HttpClient, 'login' | 'getUser' | 'uploadKeys' | 'countPrekeys'>;

/** What {@link replaceIdentity} made: the new account and the local changes still to commit. */
export interface ReplacedIdentity {
  account: AccountRecord;
  /**
   * Store changes that retire the old identity on this device (the caller commits them
   * atomically with its own, then adopts `account`).
   */
  ops: StoreOp[];
}

/**
 * Reset the user identity from a device that is set up (the user lost their other devices, or
 * one of them is not theirs; docs/CLIENT.md "Resetting the identity"). Logs in with `password`
 * (a wrong one is `ApiError('INVALID_CREDENTIALS')`, nothing changes), which gives this device
 * a new device id; makes a new UIK, device keys and a certificate for that id, and uploads them
 * with `resetIdentity` — the key server then replaces the UIK, logs the new binding and removes
 * every other device of the user, this device's old id included. `loggedIn` runs between the
 * two calls with the new device's tokens (the caller routes requests through them and stops
 * using the old device's connection, which the upload ends). The returned ops store the new
 * account and retire the old identity's state ({@link retireIdentityOps}).
 */
export async function replaceIdentity(
  ctx: Pick<Ctx, 'store' | 'http' | 'now' | 'options'>,
  current: AccountRecord,
  password: string,
  loggedIn: (tokens: { accessToken: string; refreshToken: string }) => Promise<void>,
): Promise<ReplacedIdentity> {
  const { store, http } = ctx;
  if (!current.certificate)
    throw new ClientError('NOT_REGISTERED', 'this device is not set up: log in first');
  const res = await http.login(current.username, password);
  await loggedIn(res);
  const oldPrekeys = await allPrekeys(store);
  const now = ctx.now();
  const uik = generateUserIdentity();
  const keys = generateDeviceKeys();
  const certificate = issueDeviceCertificate(uik, {
    username: current.username,
    deviceId: res.deviceId,
    kind: current.kind,
    signingKey: keys.signing.publicKey,
    identityKey: keys.identity.publicKey,
    issuedAt: now,
  });
  const account: AccountRecord = {
    username: current.username,
    deviceId: res.deviceId,
    kind: current.kind,
    accessToken: res.accessToken,
    refreshToken: res.refreshToken,
    uik,
    signing: keys.signing,
    identity: keys.identity,
    certificate: encodeDeviceCertificate(certificate),
    signedPrekeyAt: now,
    createdAt: now,
  };
  // The new prekey secrets are stored before the upload; the old ones stay until it succeeded.
  await uploadAllKeys(ctx, account, { password });
  const ops: StoreOp[] = [
    ...(await retireIdentityOps(store, current.username, oldPrekeys, now)),
    { op: 'deleteSetting', key: PENDING_LINK_DEVICE },
    { op: 'putAccount', account },
  ];
  return { account, ops };
}

/**
 * Store changes that retire this device's state of a replaced identity: every pairwise session
 * (made with the old device keys; peers start new ones), the given prekey secrets of the old
 * device keys, our own group sender keys, outbox copies for our own (removed) devices, the
 * verification marks of contacts (the safety numbers compared with them no longer exist; one
 * with an unreviewed key change of its own stays as it is until reviewed), and the own-key
 * monitor's sighting of the old UIK.
 */
async function retireIdentityOps(
  store: ClientStore,
  username: string,
  oldPrekeys: readonly PrekeySecretRecord[],
  now: number,
): Promise<StoreOp[]> {
  const ops: StoreOp[] = oldPrekeys.map((p) => ({ op: 'deletePrekey', kind: p.kind, id: p.id }));
  const contacts = await store.listContacts();
  const groups = await store.listGroups();
  const peers = new Set<string>([username, ...contacts.map((c) => c.username)]);
  for (const g of groups) for (const m of g.members) peers.add(m);
  for (const c of await store.listConversations()) {
    const conv = parseConversation(c.conversationId);
    if (conv.type === 'dm') peers.add(conv.user);
  }
  for (const user of peers) {
    for (const device of await store.listSessionDevices(user)) {
      ops.push({ op: 'deleteSession', user, device });
    }
  }
  for (const g of groups) ops.push({ op: 'deleteOwnSenderKey', groupId: g.groupId });
  for (const e of await store.listOutbox()) {
    if (e.recipient === username) {
      ops.push({
        op: 'removeOutbox',
        messageId: e.messageId,
        recipient: e.recipient,
        recipientDevice: e.recipientDevice,
      });
    }
  }
  for (const c of contacts) {
    if (c.verified && !c.pendingUik)
      ops.push({ op: 'putContact', contact: { ...c, verified: false, updatedAt: now } });
  }
  ops.push(await ownIdentityReplacedOp(store));
  return ops;
}

/** Every prekey secret this device holds. */
async function allPrekeys(store: ClientStore): Promise<PrekeySecretRecord[]> {
  const kinds = ['signed', 'kem', 'onetime', 'kem-onetime'] as const;
  return (await Promise.all(kinds.map((k) => store.listPrekeys(k)))).flat();
}
