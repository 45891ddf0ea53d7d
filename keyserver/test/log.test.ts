import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeKeyLogLeaf,
  decodeSignedTreeHead,
  fromBase64,
  leafHash,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
} from '@sotto/crypto';
import {
  bearer,
  makeServer,
  registeredDevice,
  signupAndLogin,
  type TestServer,
} from './fixtures.ts';

let s: TestServer;
let token: string;
beforeEach(async () => {
  s = await makeServer();
  token = (await signupAndLogin(s.app, 'reader')).accessToken;
});
afterEach(async () => {
  await s.close();
});

const get = async (url: string) => s.app.inject({ method: 'GET', url, headers: bearer(token) });

describe('key transparency log', () => {
  it('signs tree heads that verify with the published log key', async () => {
    await registeredDevice(s.app, 'alice', 'd1');
    const r = await get('/v1/log/head');
    expect(r.statusCode).toBe(200);
    const h = r.json();
    expect(h.treeSize).toBe(1);
    const sth = decodeSignedTreeHead(fromBase64(h.signedTreeHead));
    expect(verifyTreeHead(sth, fromBase64(h.publicKey))).toBe(true);
    expect(sth.treeSize).toBe(1);
    const tampered = { ...sth, treeSize: 2 };
    expect(verifyTreeHead(tampered, fromBase64(h.publicKey))).toBe(false);
  });

  it("proves the inclusion of every device's binding in the signed tree", async () => {
    const a = await registeredDevice(s.app, 'alice', 'd1');
    await registeredDevice(s.app, 'bob', 'd1');
    await registeredDevice(s.app, 'carol', 'd1');
    const user = (await get('/v1/users/alice')).json();
    const index = user.devices[0].logIndex;
    const head = (await get('/v1/log/head')).json();
    const p = (await get(`/v1/log/proof?index=${index}`)).json();
    expect(p.treeSize).toBe(3);
    const leaf = fromBase64(p.leaf);
    const entry = decodeKeyLogLeaf(leaf);
    expect(entry.username).toBe('alice');
    expect(entry.uik).toEqual(a.uik.publicKey);
    expect(entry.deviceCertificate).toEqual(fromBase64(user.devices[0].certificate));
    const ok = verifyInclusion(
      leafHash(leaf),
      index,
      3,
      p.proof.map(fromBase64),
      fromBase64(head.root),
    );
    expect(ok).toBe(true);
    expect(
      verifyInclusion(leafHash(leaf), index + 1, 3, p.proof.map(fromBase64), fromBase64(head.root)),
    ).toBe(false);
  });

  it('proves that an older head is a prefix of a newer one', async () => {
    await registeredDevice(s.app, 'alice', 'd1');
    await registeredDevice(s.app, 'bob', 'd1');
    const old = (await get('/v1/log/head')).json();
    for (const n of ['carol', 'dave', 'erin']) await registeredDevice(s.app, n, 'd1');
    const now = (await get('/v1/log/head')).json();
    const c = (await get(`/v1/log/consistency?from=${old.treeSize}&to=${now.treeSize}`)).json();
    expect(
      verifyConsistency(
        old.treeSize,
        now.treeSize,
        fromBase64(old.root),
        fromBase64(now.root),
        c.proof.map(fromBase64),
      ),
    ).toBe(true);
  });

  it('returns raw entries for monitoring', async () => {
    await registeredDevice(s.app, 'alice', 'd1');
    const r = (await get('/v1/log/entries?start=0&end=10')).json();
    expect(r.start).toBe(0);
    expect(r.entries).toHaveLength(1);
    expect(decodeKeyLogLeaf(fromBase64(r.entries[0])).username).toBe('alice');
  });

  it('answers 404 for an index or size beyond the log and 400 for bad numbers', async () => {
    await registeredDevice(s.app, 'alice', 'd1');
    expect((await get('/v1/log/proof?index=5')).statusCode).toBe(404);
    expect((await get('/v1/log/proof?index=0&treeSize=9')).statusCode).toBe(404);
    expect((await get('/v1/log/consistency?from=2&to=1')).statusCode).toBe(404);
    const bad = await get('/v1/log/proof?index=-1');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('VALIDATION_FAILED');
    expect((await get('/v1/log/proof?index=0&extra=1')).statusCode).toBe(400);
  });
});
