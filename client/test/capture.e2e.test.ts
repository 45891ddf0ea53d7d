/**
 * What the broker sees (DESIGN.md §6): every byte between the clients and the
 * broker passes through a recording TCP proxy while two users chat, react,
 * send a file and talk in a group; none of the plaintexts (nor the file's
 * bytes) appear anywhere in the capture — the broker relays ciphertext only.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type SottoClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { freePort } from '../../test/support/ports.ts';
import { startServer, uname, until, type TestServer } from './support/server.ts';

let srv: TestServer;
let proxy: Server;
let proxyPort: number;
const captured: Buffer[] = [];
const sockets: Socket[] = [];
const clients: SottoClient[] = [];

beforeAll(async () => {
  srv = await startServer();
  proxyPort = await freePort();
  proxy = createServer((inbound) => {
    const outbound = connect(srv.mqttPort, '127.0.0.1');
    sockets.push(inbound, outbound);
    inbound.on('data', (d: Buffer) => {
      captured.push(Buffer.from(d));
      outbound.write(d);
    });
    outbound.on('data', (d: Buffer) => {
      captured.push(Buffer.from(d));
      inbound.write(d);
    });
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.on('error', () => undefined);
    outbound.on('error', () => undefined);
  });
  await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', () => r()));
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const s of sockets) s.destroy();
  await new Promise((r) => proxy.close(() => r(undefined)));
  await srv?.close();
});

function client(): SottoClient {
  const c = createClient({
    store: createMemoryStore(),
    http: { baseUrl: srv.httpUrl },
    mqttConnect: (o) => mqtt.connect(`mqtt://127.0.0.1:${proxyPort}`, o),
  });
  clients.push(c);
  return c;
}

describe('broker capture', () => {
  it('contains none of the plaintexts of DMs, reactions, files and group messages', async () => {
    const alice = client();
    const bob = client();
    const a = uname('alice');
    const b = uname('bob');
    await alice.register(a, 'correct horse battery');
    await bob.register(b, 'correct horse battery');
    await alice.start();
    await bob.start();
    const secrets = [
      'SECRET-dm-7f3a9c',
      'SECRET-reply-51be2d',
      'SECRET-group-c0ffee',
      'SECRET-edit-d00d12',
    ];
    const texts: string[] = [];
    bob.on('message', (m) => texts.push(String(m.body.text ?? m.body.name)));
    const m = await alice.sendText(b, secrets[0]!);
    await until(() => texts.length === 1, 'dm');
    await bob.sendText(a, secrets[1]!, { replyTo: m.id });
    await alice.react(b, m.id, '🔒');
    await alice.edit(b, m.id, secrets[3]!);
    const fileBytes = new TextEncoder().encode('SECRET-file-contents-9a8b7c'.repeat(100));
    await alice.sendFile(b, fileBytes, { name: 'SECRET-name.txt', mime: 'text/plain' });
    await until(() => texts.length === 2, 'file');
    const fileMsg = (await bob.store.listMessages(`dm:${a}`)).find((x) => x.kind === 'file')!;
    expect(await bob.downloadFile(fileMsg)).toEqual(fileBytes);
    const groupId = await alice.groups.create('Secret club', [b]);
    await alice.sendText(`group:${groupId}`, secrets[2]!);
    await until(() => texts.includes(secrets[2]!), 'group');
    await until(async () => (await alice.store.listOutbox()).length === 0, 'all acknowledged');

    const all = Buffer.concat(captured);
    expect(all.length).toBeGreaterThan(5000);
    for (const s of [...secrets, 'SECRET-file-contents', 'SECRET-name', 'Secret club', '🔒']) {
      expect(all.includes(Buffer.from(s)), s).toBe(false);
    }
    // The capture is real traffic: topic names are there in the clear.
    expect(all.includes(Buffer.from(`sotto/v1/inbox/${b}/`))).toBe(true);
  });
});
