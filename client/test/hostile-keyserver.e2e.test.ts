/**
 * A malicious key server (issue 14, PROTOCOL.md §6.4 and §10, docs/SECURITY.md "Attacks and what
 * stops them"): an HTTP proxy in front of the real key server rewrites its answers — a bundle
 * substituted for one of our own devices or a contact's, a contact's identity swapped for one
 * the log does not hold, a log entry withheld. The engines talk to the real broker. Each test
 * says what the client does: refuse, never send to the substitute, never adopt the key.
 * Group-chain attacks are in hostile-groups.e2e.test.ts.
 */
import {
  encodeDeviceCertificate,
  encodeKemPrekey,
  encodeSignedPrekey,
  generateKemPrekey,
  generateSignedPrekey,
  Session,
  toBase64,
  type LocalDevice,
} from '@sotto/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SottoClient } from '../src/engine.ts';
import type { BundleResponse } from '../src/http.ts';
import type { MessageRecord } from '../src/store/types.ts';
import { forgedDevice } from './support/forge.ts';
import { startHostileProxy, swapIdentity, type HostileProxy } from './support/hostile-proxy.ts';
import { makeClient, uname, until } from './support/server.ts';
import { serverFixture } from './support/fixture.ts';

const PW = 'correct horse battery';
const { server, pool } = serverFixture();
let proxy: HostileProxy;
beforeAll(async () => {
  proxy = await startHostileProxy(server().httpUrl);
});
afterAll(async () => {
  await proxy?.close();
});

/** An engine whose key server is the hostile proxy. */
function hostileClient(): SottoClient {
  return pool.track(makeClient({ httpUrl: proxy.url, mqttUrl: server().mqttUrl }));
}

/**
 * A started victim whose key server is the hostile proxy and a started peer on the real one,
 * registered under fresh names.
 */
async function victimAndPeer(
  victimPrefix: string,
  peerPrefix: string,
): Promise<{ victim: SottoClient; peer: SottoClient; v: string; p: string }> {
  const victim = hostileClient();
  const peer = pool.client();
  const v = uname(victimPrefix);
  const p = uname(peerPrefix);
  await victim.register(v, PW);
  await peer.register(p, PW);
  await victim.start();
  await peer.start();
  return { victim, peer, v, p };
}

/** A bundle for `device` made by the attacker (its prekeys signed by the forged device). */
function forgedBundle(device: LocalDevice): BundleResponse {
  const spk = generateSignedPrekey(device.keys.signing, 1, Date.now());
  const kem = generateKemPrekey(device.keys.signing, 2, true);
  return {
    certificate: toBase64(encodeDeviceCertificate(device.certificate)),
    signedPrekey: toBase64(encodeSignedPrekey(spk.prekey)),
    kemPrekey: toBase64(encodeKemPrekey(kem.prekey)),
    oneTimePrekey: null,
  };
}

/** Replace the bundle of (user, device) on both claim routes. */
function substituteBundle(user: string, deviceId: string, bundle: BundleResponse): () => void {
  return proxy.use((req, res) => {
    if (req.method !== 'POST') return undefined;
    if (req.path === `/v1/users/${user}/devices/${deviceId}/bundle`)
      return { ...res, status: 200, body: bundle };
    if (req.path === '/v1/bundles/claim' && res.status === 200) {
      const body = res.body as {
        bundles: { username: string; deviceId: string; bundle: unknown }[];
      };
      return {
        ...res,
        body: {
          ...body,
          bundles: body.bundles.map((b) =>
            b.username === user && b.deviceId === deviceId ? { ...b, bundle } : b,
          ),
        },
      };
    }
    return undefined;
  });
}

const textOf = (m: MessageRecord): string =>
  typeof m.body.text === 'string' ? m.body.text : `<${m.kind}>`;

describe('a malicious key server', () => {
  it('cannot substitute a bundle for one of our own devices (the sync copies stay ours)', async () => {
    const a = uname('alice');
    const b = uname('bob');
    const alice1 = hostileClient();
    const bob = pool.client();
    await alice1.register(a, PW);
    await bob.register(b, PW);
    await alice1.start();
    await bob.start();
    // A second device of alice's, linked for real.
    const alice2 = pool.client();
    const linking = await alice2.link.begin(a, PW);
    await alice1.link.approve(linking.code);
    const { deviceId: second } = await linking.linked;
    await alice2.start();
    // Alice1 has no session with it yet; the server answers its claim with the attacker's bundle.
    expect(await alice1.store.getSession(a, second)).toBeNull();
    const attacker = forgedDevice(a, second);
    const off = substituteBundle(a, second, forgedBundle(attacker));
    const errors: unknown[] = [];
    alice1.on('error', (e) => errors.push(e));
    const got: string[] = [];
    bob.on('message', (m) => got.push(textOf(m)));
    try {
      await alice1.sendText(b, 'sync me');
      await until(() => got.includes('sync me'), 'bob gets the message');
      await until(() => errors.length > 0, 'the substituted bundle is refused');
      // No session with the substitute: nothing was encrypted to the attacker's keys.
      const state = await alice1.store.getSession(a, second);
      if (state) {
        const s = Session.deserialize(state);
        expect(
          Buffer.from(s.remoteCertificate.uik).equals(Buffer.from(attacker.certificate.uik)),
        ).toBe(false);
        s.destroy();
      }
      expect(JSON.stringify(errors.map(String))).toMatch(/UIK|certificate|expected/i);
    } finally {
      off();
    }
    // With the real bundle again, the sync copy reaches the real second device.
    const synced: string[] = [];
    alice2.on('message', (m) => synced.push(textOf(m)));
    await alice1.sendText(b, 'sync me again');
    await until(() => synced.includes('sync me again'), 'the real second device gets its copy');
  });

  it("cannot substitute a contact's bundle", async () => {
    const { victim: alice, peer: bob, p: b } = await victimAndPeer('alice', 'bob');
    const bobDevice = bob.account!.deviceId;
    const attacker = forgedDevice(b, bobDevice);
    const off = substituteBundle(b, bobDevice, forgedBundle(attacker));
    const errors: unknown[] = [];
    alice.on('error', (e) => errors.push(e));
    try {
      await alice.sendText(b, 'for bob only');
      await until(() => errors.length > 0, 'refused');
      expect(await alice.store.getSession(b, bobDevice)).toBeNull();
    } finally {
      off();
    }
    const got: string[] = [];
    bob.on('message', (m) => got.push(textOf(m)));
    await alice.flushOutbox();
    await until(() => got.includes('for bob only'), 'delivered once the real bundle is served');
  });

  it("does not adopt a contact's identity key that the log does not hold", async () => {
    const { victim: alice, peer: bob, v: a, p: b } = await victimAndPeer('alice', 'bob');
    await bob.sendText(a, 'hi');
    await until(async () => (await alice.store.listMessages(`dm:${b}`)).length === 1, 'first');
    const trusted = (await alice.trust.contact(b))!.uik!;
    // The server swaps bob's identity for the attacker's, with a device it cannot prove in the log.
    const attacker = forgedDevice(b, 'evil1');
    const keyChanges: string[] = [];
    alice.on('keyChange', (k) => keyChanges.push(k.user));
    const off = swapIdentity(proxy, b, attacker);
    try {
      await alice.trust.refresh(b);
      await expect(alice.sendText(b, 'to the attacker?')).rejects.toMatchObject({
        code: 'NO_DEVICES',
      });
      const contact = (await alice.trust.contact(b))!;
      expect(Buffer.from(contact.uik!).equals(Buffer.from(trusted))).toBe(true);
      expect(contact.pendingUik).toBeNull();
      expect(keyChanges).toEqual([]);
      // No line saying the safety number changed either.
      const kinds = (await alice.store.listMessages(`dm:${b}`)).map((m) => m.kind);
      expect(kinds).toEqual(['text']);
    } finally {
      off();
    }
  });

  it('drops messages from a device whose log entry it withholds, and reports them', async () => {
    const { victim: alice, peer: carol, v: a, p: c } = await victimAndPeer('alice', 'carol');
    const notices: string[] = [];
    alice.on('securityNotice', (n) => notices.push(n.code));
    const shown: string[] = [];
    alice.on('message', (m) => shown.push(textOf(m)));
    const off = proxy.use((req, res) => {
      if (req.method !== 'GET' || req.path !== `/v1/users/${c}` || res.status !== 200)
        return undefined;
      const body = res.body as { devices: { logIndex: number | null }[] };
      return {
        ...res,
        body: { ...body, devices: body.devices.map((d) => ({ ...d, logIndex: null })) },
      };
    });
    try {
      await carol.sendText(a, 'unproven');
      await until(() => notices.includes('UNLISTED_DEVICE'), 'notice');
      expect(shown).not.toContain('unproven');
      expect(await alice.store.listMessages(`dm:${c}`)).toEqual([]);
    } finally {
      off();
    }
    // Once the server shows the log again, carol's re-sent message arrives.
    await carol.flushOutbox();
    await until(() => shown.includes('unproven'), 'delivered after the log entry is served');
  });
});
