/**
 * Monitoring one's own key-log entries (DESIGN.md §5.3, PROTOCOL.md §10,
 * docs/CLIENT.md "Key transparency"). A lying key server has to log any key it
 * substitutes for us, or nobody would accept it; here it does, in a log of its
 * own (it holds the log key, so the heads it signs verify): the engine reads
 * the new leaves, proves they are the signed log, and raises `ownKeyAlert` for
 * a foreign identity key or a bad certificate under its username — but not for
 * certificates its own UIK signed. Serving leaves that are not the signed log
 * (hiding the forged one) is refused with KT_FAILURE.
 */
import {
  consistencyProof,
  encodeDeviceCertificate,
  encodeSignedTreeHead,
  fromBase64,
  generateDeviceKeys,
  generateUserIdentity,
  inclusionProof,
  issueDeviceCertificate,
  keyLogLeaf,
  leafHash,
  merkleRoot,
  ready,
  signTreeHead,
  toBase64,
  type KeyPair,
} from '@sotto/crypto';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SottoClient } from '../src/engine.ts';
import { isClientError } from '../src/errors.ts';
import type { OwnKeyAlert, OwnKeyLogStatus } from '../src/internal/context.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
const clients: SottoClient[] = [];
beforeAll(async () => {
  await ready();
  srv = await startServer();
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await srv?.close();
});

const json = (body: unknown): Response =>
  new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': 'application/json' },
  });

/**
 * A key server that answers `/v1/log/*` from a log of its own: every real
 * leaf (mirrored from the real server) plus whatever it injects, signed with
 * its own log key. Everything else goes to the real server.
 */
class LyingServer {
  readonly leaves: Uint8Array[] = [];
  private readonly logKey: KeyPair = generateUserIdentity();
  private realSize = 0;
  /** Leaf index → bytes served by `/v1/log/entries` instead of the real leaf. */
  readonly substitute = new Map<number, Uint8Array>();

  /** Mirror the real log's new leaves (using the caller's own token). */
  private async sync(headers: HeadersInit | undefined): Promise<void> {
    const init: RequestInit = headers ? { headers } : {};
    const head = (await (await fetch(`${srv.httpUrl}/v1/log/head`, init)).json()) as {
      treeSize: number;
    };
    while (this.realSize < head.treeSize) {
      const url = `${srv.httpUrl}/v1/log/entries?start=${this.realSize}&end=${head.treeSize}`;
      const page = (await (await fetch(url, init)).json()) as { entries: string[] };
      for (const e of page.entries) this.leaves.push(fromBase64(e));
      this.realSize += page.entries.length;
    }
  }

  /** Append a binding the real server never made. Returns its index. */
  inject(username: string, uik: Uint8Array, certificate: Uint8Array): number {
    this.leaves.push(keyLogLeaf(username, uik, certificate));
    return this.leaves.length - 1;
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
    );
    if (!url.pathname.startsWith('/v1/log/')) return fetch(input, init);
    // Injections happen after every real leaf the tests need: real indices stay valid.
    if (this.leaves.length === this.realSize) await this.sync(init?.headers);
    const hashes = this.leaves.map((l) => leafHash(l));
    const q = (k: string): number => Number(url.searchParams.get(k));
    switch (url.pathname) {
      case '/v1/log/head': {
        const sth = signTreeHead(
          { treeSize: hashes.length, root: merkleRoot(hashes), timestamp: Date.now() },
          this.logKey.secretKey,
        );
        return json({
          treeSize: sth.treeSize,
          root: toBase64(sth.root),
          timestamp: sth.timestamp,
          signature: toBase64(sth.signature),
          signedTreeHead: toBase64(encodeSignedTreeHead(sth)),
          publicKey: toBase64(this.logKey.publicKey),
        });
      }
      case '/v1/log/proof': {
        const size = q('treeSize');
        const index = q('index');
        return json({
          index,
          treeSize: size,
          leaf: toBase64(this.leaves[index]!),
          proof: inclusionProof(hashes.slice(0, size), index).map(toBase64),
        });
      }
      case '/v1/log/consistency': {
        const proof = consistencyProof(hashes.slice(0, q('to')), q('from'));
        return json({ from: q('from'), to: q('to'), proof: proof.map(toBase64) });
      }
      case '/v1/log/entries': {
        const start = q('start');
        const end = Math.min(q('end'), start + 1000, this.leaves.length);
        const entries: string[] = [];
        for (let i = start; i < end; i++)
          entries.push(toBase64(this.substitute.get(i) ?? this.leaves[i]!));
        return json({ start, entries });
      }
      default:
        return fetch(input, init);
    }
  };
}

/** A registered, started engine talking to `lying` for everything key-log. */
async function engineWith(lying: LyingServer): Promise<{
  client: SottoClient;
  user: string;
  alerts: OwnKeyAlert[];
  checked: OwnKeyLogStatus[];
  errors: unknown[];
}> {
  const client = createClient({
    store: createMemoryStore(),
    http: { baseUrl: srv.httpUrl, fetch: lying.fetch },
    mqttConnect: (o) => mqtt.connect(srv.mqttUrl, o),
  });
  clients.push(client);
  const alerts: OwnKeyAlert[] = [];
  const checked: OwnKeyLogStatus[] = [];
  const errors: unknown[] = [];
  client.on('ownKeyAlert', (a) => alerts.push(a));
  client.on('ownKeyLogChecked', (s) => checked.push(s));
  client.on('error', (e) => errors.push(e));
  const user = uname('alice');
  await client.register(user, 'correct horse battery');
  await client.start();
  return { client, user, alerts, checked, errors };
}

/** A certificate for `username`/`deviceId` claiming `claimedUik`, signed by `signer`. */
function certificate(
  signer: KeyPair,
  username: string,
  deviceId: string,
  claimedUik = signer.publicKey,
): Uint8Array {
  const dev = generateDeviceKeys();
  const cert = issueDeviceCertificate(signer, {
    username,
    deviceId,
    kind: 'user',
    signingKey: dev.signing.publicKey,
    identityKey: dev.identity.publicKey,
    issuedAt: Date.now(),
  });
  // A claimed UIK other than the signer's leaves a signature that does not verify.
  return encodeDeviceCertificate({ ...cert, uik: claimedUik });
}

describe('own key-log monitoring', () => {
  it('raises ownKeyAlert for a foreign UIK or a bad certificate under our name, not for our own', async () => {
    const lying = new LyingServer();
    const { client, user, alerts } = await engineWith(lying);
    // The honest log: our own binding, nothing to report.
    expect(await client.trust.checkOwnKeys()).toEqual([]);

    const account = (await client.store.getAccount())!;
    const ownUik: KeyPair = {
      publicKey: account.uik.publicKey,
      secretKey: account.uik.secretKey,
    };
    const mallory = generateUserIdentity();
    // Signed by our own UIK (a device we linked): ours by construction.
    lying.inject(user, ownUik.publicKey, certificate(ownUik, user, 'tablet'));
    // A forged identity key under our name, with a device it certified.
    const forged = lying.inject(user, mallory.publicKey, certificate(mallory, user, 'evil'));
    // A certificate claiming our UIK that our UIK never signed.
    const bad = lying.inject(
      user,
      ownUik.publicKey,
      certificate(mallory, user, 'evil2', ownUik.publicKey),
    );
    // Someone else's forged key is their monitor's business.
    lying.inject(uname('carol'), mallory.publicKey, certificate(mallory, 'carol', 'x'));

    const found = await client.trust.checkOwnKeys();
    expect(found).toEqual([
      {
        reason: 'foreignIdentityKey',
        logIndex: forged,
        uik: toBase64(mallory.publicKey),
        deviceId: null,
      },
      {
        reason: 'badCertificate',
        logIndex: bad,
        uik: toBase64(ownUik.publicKey),
        deviceId: 'evil2',
      },
    ]);
    await until(() => alerts.length === 2, 'both alerts raised as events');
    expect(alerts).toEqual(found);
    // Each leaf is reported once: the next look starts after it.
    expect(await client.trust.checkOwnKeys()).toEqual([]);
    expect(alerts.length).toBe(2);
  });

  it('refuses log entries that are not the signed log (a forged binding hidden from its owner)', async () => {
    const lying = new LyingServer();
    const { client, user, alerts, checked } = await engineWith(lying);
    expect(await client.trust.checkOwnKeys()).toEqual([]);
    const before = await client.trust.ownKeyLog();
    const reported = checked.length;
    const mallory = generateUserIdentity();
    const forged = lying.inject(user, mallory.publicKey, certificate(mallory, user, 'evil'));
    // Others are shown the forged binding (it is in the signed tree); its owner is shown a harmless leaf.
    lying.substitute.set(forged, keyLogLeaf(uname('nobody'), mallory.publicKey, new Uint8Array()));
    const err = await client.trust.checkOwnKeys().catch((e: unknown) => e);
    expect(isClientError(err, 'KT_FAILURE')).toBe(true);
    expect(alerts).toEqual([]);
    // The refused run claims no progress: nothing stored, nothing announced.
    expect(await client.trust.ownKeyLog()).toEqual(before);
    expect(checked.length).toBe(reported);
    // Served honestly again, the forged binding is found.
    lying.substitute.clear();
    expect((await client.trust.checkOwnKeys()).map((a) => a.logIndex)).toEqual([forged]);
  });

  it('reports what it checked (trust.ownKeyLog, ownKeyLogChecked): the log size, when, and what was not ours', async () => {
    const lying = new LyingServer();
    const { client, user, checked } = await engineWith(lying);
    const started = Date.now();
    expect(await client.trust.checkOwnKeys()).toEqual([]);
    const size = (await client.http.logHead()).treeSize;
    const first = await client.trust.ownKeyLog();
    expect(first.checkedEntries).toBe(size);
    expect(first.unexpected).toBe(0);
    expect(first.checkedAt).toBeGreaterThanOrEqual(started - 60_000);
    // The event carries exactly what is stored.
    expect(checked.at(-1)).toEqual(first);
    // A run with nothing new stores and announces nothing.
    const reported = checked.length;
    expect(await client.trust.checkOwnKeys()).toEqual([]);
    expect(checked.length).toBe(reported);
    expect(await client.trust.ownKeyLog()).toEqual(first);

    const mallory = generateUserIdentity();
    lying.inject(user, mallory.publicKey, certificate(mallory, user, 'evil'));
    lying.inject(uname('carol'), mallory.publicKey, certificate(mallory, 'carol', 'x'));
    expect(await client.trust.checkOwnKeys()).toHaveLength(1);
    const after = await client.trust.ownKeyLog();
    expect(after).toEqual({ checkedEntries: size + 2, checkedAt: after.checkedAt, unexpected: 1 });
    expect(after.checkedAt).toBeGreaterThanOrEqual(first.checkedAt!);
    expect(checked.at(-1)).toEqual(after);
    expect(checked.length).toBe(reported + 1);
    // Kept in the store: another engine on the same store reports the same, without a run.
    const again = createClient({
      store: client.store,
      http: { baseUrl: srv.httpUrl, fetch: lying.fetch },
      mqttConnect: (o) => mqtt.connect(srv.mqttUrl, o),
    });
    expect(await again.trust.ownKeyLog()).toEqual(after);
  });
});
