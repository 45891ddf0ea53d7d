import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRange } from '../src/routes/blobs.ts';
import { bearer, makeServer, signupAndLogin, type TestServer } from './fixtures.ts';

let s: TestServer;
let alice: string;
let bob: string;
beforeEach(async () => {
  s = await makeServer({ config: { blobMaxBytes: 64 * 1024 } });
  alice = (await signupAndLogin(s.app, 'alice')).accessToken;
  bob = (await signupAndLogin(s.app, 'bob')).accessToken;
});
afterEach(async () => {
  await s.close();
});

describe('things', () => {
  it('registers a thing and returns MQTT credentials scoped to iot/{owner}/{thing}/#', async () => {
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(alice),
      payload: { name: 'lamp' },
    });
    expect(r.statusCode).toBe(201);
    const c = r.json();
    expect(c).toMatchObject({
      clientId: 'thing:alice:lamp',
      username: 'thing:alice:lamp',
      topic: 'iot/alice/lamp/#',
    });
    expect(c.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await s.store.verifyThingCredential('alice', 'lamp', c.password)).toBe(true);
    expect(await s.store.verifyThingCredential('alice', 'lamp', 'guess')).toBe(false);
  });

  it('lists the caller’s things without secrets', async () => {
    await s.app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(alice),
      payload: { name: 'lamp' },
    });
    const r = await s.app.inject({ method: 'GET', url: '/v1/things', headers: bearer(alice) });
    expect(r.json()).toEqual({
      things: [
        {
          name: 'lamp',
          clientId: 'thing:alice:lamp',
          topic: 'iot/alice/lamp/#',
          active: true,
          createdAt: expect.any(Number),
        },
      ],
    });
    expect(
      (await s.app.inject({ method: 'GET', url: '/v1/things', headers: bearer(bob) })).json(),
    ).toEqual({ things: [] });
  });

  it('refuses a duplicate name with 409 and an invalid name with 400', async () => {
    await s.app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(alice),
      payload: { name: 'lamp' },
    });
    const dup = await s.app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(alice),
      payload: { name: 'lamp' },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error).toBe('THING_EXISTS');
    const bad = await s.app.inject({
      method: 'POST',
      url: '/v1/things',
      headers: bearer(alice),
      payload: { name: 'a/#' },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('revokes a thing: the credential stops working and brokers hear thing-revoked', async () => {
    const c = (
      await s.app.inject({
        method: 'POST',
        url: '/v1/things',
        headers: bearer(alice),
        payload: { name: 'lamp' },
      })
    ).json();
    const other = await s.app.inject({
      method: 'DELETE',
      url: '/v1/things/lamp',
      headers: bearer(bob),
    });
    expect(other.statusCode).toBe(404);
    const r = await s.app.inject({
      method: 'DELETE',
      url: '/v1/things/lamp',
      headers: bearer(alice),
    });
    expect(r.statusCode).toBe(204);
    expect(await s.store.verifyThingCredential('alice', 'lamp', c.password)).toBe(false);
    expect(await s.store.isThingActive('alice', 'lamp')).toBe(false);
    expect(s.events).toContainEqual({ type: 'thing-revoked', owner: 'alice', thing: 'lamp' });
    const again = await s.app.inject({
      method: 'DELETE',
      url: '/v1/things/lamp',
      headers: bearer(alice),
    });
    expect(again.statusCode).toBe(404);
    expect(again.json().error).toBe('THING_NOT_FOUND');
  });
});

const upload = (token: string, data: Buffer, type = 'application/octet-stream') =>
  s.app.inject({
    method: 'POST',
    url: '/v1/blobs',
    headers: { ...bearer(token), 'content-type': type },
    payload: data,
  });

describe('blobs', () => {
  const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  const id = createHash('sha256').update(data).digest('hex');

  it('stores an upload under its SHA-256 and serves it back byte for byte', async () => {
    const r = await upload(alice, data);
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ id, size: 5000 });
    const g = await s.app.inject({ method: 'GET', url: `/v1/blobs/${id}`, headers: bearer(bob) });
    expect(g.statusCode).toBe(200);
    expect(g.headers['accept-ranges']).toBe('bytes');
    expect(g.rawPayload.equals(data)).toBe(true);
    expect(await s.store.getBlob(id)).toMatchObject({ owner: 'alice', size: 5000 });
  });

  it('serves byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    await upload(alice, data);
    const r = await s.app.inject({
      method: 'GET',
      url: `/v1/blobs/${id}`,
      headers: { ...bearer(bob), range: 'bytes=100-199' },
    });
    expect(r.statusCode).toBe(206);
    expect(r.headers['content-range']).toBe('bytes 100-199/5000');
    expect(r.rawPayload.equals(data.subarray(100, 200))).toBe(true);
    const tail = await s.app.inject({
      method: 'GET',
      url: `/v1/blobs/${id}`,
      headers: { ...bearer(bob), range: 'bytes=-10' },
    });
    expect(tail.rawPayload.equals(data.subarray(4990))).toBe(true);
    const bad = await s.app.inject({
      method: 'GET',
      url: `/v1/blobs/${id}`,
      headers: { ...bearer(bob), range: 'bytes=9000-' },
    });
    expect(bad.statusCode).toBe(416);
    expect(bad.json().error).toBe('RANGE_NOT_SATISFIABLE');
  });

  it('refuses a blob over the size cap with 413 and keeps nothing', async () => {
    const r = await upload(alice, Buffer.alloc(64 * 1024 + 1));
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toBe('BLOB_TOO_LARGE');
    const big = createHash('sha256')
      .update(Buffer.alloc(64 * 1024 + 1))
      .digest('hex');
    expect(await s.store.getBlob(big)).toBeNull();
  });

  it('refuses a JSON body on the blob route', async () => {
    const r = await s.app.inject({
      method: 'POST',
      url: '/v1/blobs',
      headers: bearer(alice),
      payload: { a: 1 },
    });
    expect(r.statusCode).toBe(415);
    expect(r.json().error).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('lets only the uploader delete a blob', async () => {
    await upload(alice, data);
    const no = await s.app.inject({
      method: 'DELETE',
      url: `/v1/blobs/${id}`,
      headers: bearer(bob),
    });
    expect(no.statusCode).toBe(403);
    const yes = await s.app.inject({
      method: 'DELETE',
      url: `/v1/blobs/${id}`,
      headers: bearer(alice),
    });
    expect(yes.statusCode).toBe(204);
    const gone = await s.app.inject({
      method: 'GET',
      url: `/v1/blobs/${id}`,
      headers: bearer(alice),
    });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error).toBe('BLOB_NOT_FOUND');
  });

  it('refuses anonymous uploads and malformed ids', async () => {
    const anon = await s.app.inject({
      method: 'POST',
      url: '/v1/blobs',
      headers: { 'content-type': 'application/octet-stream' },
      payload: data,
    });
    expect(anon.statusCode).toBe(401);
    const bad = await s.app.inject({
      method: 'GET',
      url: '/v1/blobs/..%2Fetc',
      headers: bearer(alice),
    });
    expect(bad.statusCode).toBe(400);
  });

  it('counts blob bytes in /metrics', async () => {
    await upload(alice, data);
    const m = await s.app.metrics.registry.metrics();
    expect(m).toMatch(/sotto_keyserver_blob_bytes_total\{direction="in"\} 5000/);
  });
});

describe('parseRange', () => {
  it('parses single ranges and rejects nonsense', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=0-4', 10)).toEqual({ start: 0, end: 4 });
    expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=5-100', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=0-1,3-4', 10)).toBeNull();
    expect(parseRange('bytes=4-2', 10)).toBe('bad');
    expect(parseRange('bytes=10-', 10)).toBe('bad');
    expect(parseRange('items=1-2', 10)).toBe('bad');
    expect(parseRange('bytes=-', 10)).toBe('bad');
  });
});
