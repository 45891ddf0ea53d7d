/**
 * Operator namespaces (issue 20, item 4): a policy file in Mosquitto's acl_file syntax and a
 * Mosquitto password_file made by Debian's `mosquitto_passwd`, with mosquitto_pub/mosquitto_sub
 * as the outside clients — password-file accounts and anonymous clients with free client ids,
 * retained messages and wills inside what the rules grant, a `#` subscription that never
 * receives the built-in namespaces (checked per delivery), and the contract's ids out of reach.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePasswordFile } from '../src/passwords.ts';
import { parsePolicy } from '../src/policy.ts';
import {
  connect,
  createTokens,
  FakeStore,
  run,
  startTestBroker,
  subscribe,
  tryPublish,
  type TestBroker,
} from './helpers.ts';
import { waitFor } from '../../test/support/ports.ts';

const POLICY = `
# anonymous clients: before any user line
topic read public/#
topic write public/anon/#
# everyone: a scratch space per client id
pattern readwrite clients/%c/#
user op1
topic readwrite lab/#
topic read #
topic deny lab/secret
`;

const dir = mkdtempSync(join(tmpdir(), 'sotto-operator-'));
const passwd = join(dir, 'passwd');
let open: TestBroker;
let closed: TestBroker;

beforeAll(async () => {
  // Hashes exactly as an operator makes them: $7$ (PBKDF2-SHA512, the default) and $6$.
  expect((await run('mosquitto_passwd', ['-c', '-b', passwd, 'op1', 's3cret'])).code).toBe(0);
  expect(
    (await run('mosquitto_passwd', ['-H', 'sha512', '-b', passwd, 'op6', 'old-style'])).code,
  ).toBe(0);
  const passwords = parsePasswordFile(readFileSync(passwd, 'utf8'));
  const policy = parsePolicy(POLICY);
  const tokens = createTokens();
  const store = new FakeStore().addUser('alice', 'a1').addUser('bob', 'b1');
  open = await startTestBroker({ store, tokens, policy, passwords, allowAnonymous: true });
  closed = await startTestBroker({ store, tokens, policy, passwords });
});
afterAll(async () => {
  await open?.close();
  await closed?.close();
  rmSync(dir, { recursive: true, force: true });
});

const base = (t: TestBroker) => ['-h', '127.0.0.1', '-p', String(t.tcpPort), '-V', 'mqttv311'];
const op1 = ['-u', 'op1', '-P', 's3cret'];

/** mosquitto_pub; resolves with its exit code and output. */
function pub(t: TestBroker, args: string[]) {
  return run('mosquitto_pub', [...base(t), '-q', '1', ...args]);
}

/** A running mosquitto_sub printing `topic retained payload` per message. */
function sub(t: TestBroker, args: string[]) {
  const p = spawn('mosquitto_sub', [...base(t), '-q', '1', '-F', '%t %r %p', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let out = '';
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
  return { p, lines, exited };
}

/** Wait until a subscriber hears a probe published by op1 on `topic` (its SUBSCRIBE is in place). */
async function ready(s: ReturnType<typeof sub>, topic: string): Promise<void> {
  let n = 0;
  await waitFor(
    async () => {
      await pub(open, [...op1, '-t', topic, '-m', `probe-${++n}`]);
      return s.lines.some((l) => l.includes('probe-'));
    },
    { what: `subscriber ready on ${topic}`, intervalMs: 100 },
  );
}

describe('operator namespaces with Mosquitto files and clients', () => {
  it('admits a password-file account ($7$ and $6$) under any client id, refuses a wrong password', async () => {
    expect((await pub(open, [...op1, '-i', 'sensor-17', '-t', 'lab/a', '-m', 'x'])).code).toBe(0);
    expect(
      (
        await pub(open, [
          '-u',
          'op6',
          '-P',
          'old-style',
          '-t',
          'clients/c6/x',
          '-i',
          'c6',
          '-m',
          'x',
        ])
      ).code,
    ).toBe(0);
    const wrong = await pub(open, ['-u', 'op1', '-P', 'nope', '-t', 'lab/a', '-m', 'x']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/not authori[sz]ed|bad user name or password/i);
    const unknown = await pub(open, ['-u', 'nobody', '-P', 's3cret', '-t', 'lab/a', '-m', 'x']);
    expect(unknown.code).not.toBe(0);
  });

  it('admits anonymous clients only when allowed, and only to the anonymous rules', async () => {
    expect((await pub(open, ['-t', 'public/anon/x', '-m', 'hi'])).code).toBe(0);
    const refused = await pub(closed, ['-t', 'public/anon/x', '-m', 'hi']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/not authori[sz]ed/i);
    // Anonymous may not write where only op1 may: the broker closes the connection.
    expect((await pub(open, ['-t', 'lab/a', '-m', 'x'])).code).not.toBe(0);
  });

  it('a "#" subscriber gets its namespace and never sotto/, iot/ or $SYS — live or retained', async () => {
    const alice = await connect(open.tcpUrl, 'alice:a1', open.tokens.token('alice', 'a1'));
    // A retained presence that existed before the subscription.
    expect(await tryPublish(alice, 'sotto/v1/presence/alice', 'online', { retain: true })).toBe(
      true,
    );
    const s = sub(open, [...op1, '-i', 'watcher', '-t', '#']);
    try {
      await ready(s, 'lab/ready');
      expect(await tryPublish(alice, 'sotto/v1/inbox/bob/b1', 'secret dm')).toBe(true);
      expect(await tryPublish(alice, 'sotto/v1/presence/alice', 'away', { retain: true })).toBe(
        true,
      );
      expect(await tryPublish(alice, 'iot/alice/lamp/state', 'on')).toBe(true);
      // Anything that was going to arrive has arrived once a later marker has (one publisher).
      expect(await tryPublish(alice, 'clients/alice:a1/marker', 'ignored')).toBe(true);
      await pub(open, [...op1, '-t', 'lab/marker', '-m', 'end']);
      await waitFor(() => s.lines.some((l) => l === 'lab/marker 0 end'), { what: 'marker' });
      expect(s.lines.filter((l) => /^(sotto|iot|\$)/.test(l))).toEqual([]);
      expect(s.lines.some((l) => l.startsWith('clients/alice:a1/'))).toBe(true);
    } finally {
      s.p.kill();
      alice.end(true);
    }
  });

  it('keeps retained messages inside the namespace, and delivers a will the rules allow', async () => {
    expect((await pub(open, [...op1, '-r', '-t', 'lab/state', '-m', 'warm'])).code).toBe(0);
    const later = sub(open, [...op1, '-t', 'lab/state', '-C', '1', '-W', '10']);
    expect(await later.exited).toBe(0);
    expect(later.lines).toEqual(['lab/state 1 warm']);
    // Anonymous may read public/ but retained there needs write: refused.
    expect((await pub(open, ['-r', '-t', 'public/x', '-m', 'planted'])).code).not.toBe(0);

    const listener = sub(open, [...op1, '-i', 'listener', '-t', 'lab/will']);
    await ready(listener, 'lab/will');
    const dying = sub(open, [
      ...op1,
      '-i',
      'dying',
      '-t',
      'lab/none',
      '--will-topic',
      'lab/will',
      '--will-payload',
      'gone',
    ]);
    await waitFor(() => open.broker.aedes.connectedClients >= 2, { what: 'dying connected' });
    await waitFor(
      () =>
        Object.keys((open.broker.aedes as unknown as { clients: object }).clients).includes(
          'dying',
        ),
      { what: 'dying registered' },
    );
    dying.p.kill('SIGKILL');
    await waitFor(() => listener.lines.includes('lab/will 0 gone'), { what: 'the will' });
    listener.p.kill();
  });

  it('refuses a will, a publish or a subscription the rules do not grant', async () => {
    const willOutside = sub(open, [
      ...op1,
      '-t',
      'lab/x',
      '--will-topic',
      'sotto/v1/presence/alice',
      '--will-payload',
      'offline',
      '-W',
      '5',
    ]);
    expect(await willOutside.exited).not.toBe(0);
    expect((await pub(open, [...op1, '-t', 'lab/secret', '-m', 'x'])).code).not.toBe(0);
    expect((await pub(open, [...op1, '-t', 'sotto/v1/inbox/bob/b1', '-m', 'x'])).code).not.toBe(0);
    // SUBACK 0x80: mosquitto_sub reports the refusal.
    const sys = await run('mosquitto_sub', [
      ...base(open),
      ...op1,
      '-t',
      '$SYS/#',
      '-C',
      '1',
      '-W',
      '3',
    ]);
    expect(sys.stderr).toMatch(/denied/i);
  });

  it('never lets an operator account take a contract client id', async () => {
    const r = await pub(open, [...op1, '-i', 'alice:a1', '-t', 'lab/a', '-m', 'x']);
    expect(r.code).not.toBe(0);
    const t = await pub(open, [...op1, '-i', 'thing:alice:lamp', '-t', 'lab/a', '-m', 'x']);
    expect(t.code).not.toBe(0);
    // And the device itself still connects and works.
    const alice = await connect(open.tcpUrl, 'alice:a1', open.tokens.token('alice', 'a1'));
    expect(await subscribe(alice, 'sotto/v1/inbox/alice/a1')).toEqual([1]);
    alice.end(true);
  });
});
