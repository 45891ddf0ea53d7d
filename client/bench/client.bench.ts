/**
 * `npm run bench -w client` (issue 5): end-to-end costs of the client engine
 * against the real embedded key server + broker, in one run:
 *
 * 1. DM latency (send call → decrypted `message` event at the other bot),
 *    p50/p99 at 200 msg/s — and the same MQTT path with encryption switched
 *    off (raw JSON payloads between two raw mqtt.js clients), so the ratio is
 *    the cost of end-to-end encryption.
 * 2. Group fan-out: one message to a group of 50 bots, time until the last
 *    member has it decrypted (p50/p99 over a series).
 * 3. The first message to a 500-device group: sender-key distribution over
 *    500 fresh pairwise sessions (bundle claims + PQXDH) plus the group
 *    message, until everything is published; a member confirms decryption.
 *
 * 4. A queued burst into the SQLite store (queued-burst.ts): a bot comes back to 5,000 DMs
 *    waiting at the broker; beside raw better-sqlite3 inserts of as many rows, and the broker's
 *    hand-over of as many queued DMs to a bare mqtt.js client (its pace bounds the bot's).
 *
 * `--quick` shrinks every series (for CI smoke runs). `--only=queued` runs step 4 alone;
 * `--only=first` runs step 3
 * alone; `--cold-rounds=N` repeats its cold send N times (sessions and sender
 * key forgotten before each) and reports the median, with every round's wall
 * time and this process's CPU time listed on stderr.
 * Results go to stdout as a Markdown table (copied into docs/PERFORMANCE.md),
 * then as `BENCH` lines for `npm run bench` (scripts/bench-lib.ts).
 */
import mqtt from 'mqtt';
import { createClient, type SottoClient } from '../src/engine.ts';
import { createHttpClient } from '../src/http.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/ports.ts';
import { spawnServer, uname, until } from '../test/support/server.ts';
import { printBench } from '../../scripts/bench-lib.ts';
import { queuedBurstSqlite } from './queued-burst.ts';
import { passiveMembers } from '../test/support/members.ts';

interface TestServer {
  httpUrl: string;
  mqttUrl: string;
  close(): Promise<void>;
}

/**
 * The server in its own process (embedded mode, `scripts/start.ts`), so the
 * broker and key server do not share the bots' event loop.
 */
async function startServer(): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sotto-bench-'));
  const httpPort = await freePort();
  const mqttPort = await freePort();
  const child = await spawnServer({ dataDir, httpPort, mqttPort, stderr: 'inherit' });
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const coldRounds = Number(
  process.argv.find((a) => a.startsWith('--cold-rounds='))?.slice('--cold-rounds='.length) ?? 1,
);
if (only !== undefined && only !== 'first' && only !== 'queued')
  throw new RangeError(`--only=${only}: "first" or "queued"`);
if (!Number.isInteger(coldRounds) || coldRounds < 1)
  throw new Error('--cold-rounds takes a positive integer');
const PW = 'correct horse battery';

function pct(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function bot(srv: TestServer, kind: 'bot' = 'bot'): Promise<SottoClient> {
  // Production defaults (the test harness re-sends after 3 s, which would add load here).
  const c = createClient({
    store: createMemoryStore(),
    http: { baseUrl: srv.httpUrl },
    mqttConnect: (o) => mqtt.connect(srv.mqttUrl, o),
  });
  await c.register(uname('b'), PW, { kind });
  await c.start();
  return c;
}

/** 1. DM latency with and without E2E at `rate` msg/s. */
async function dmLatency(
  srv: TestServer,
  rate: number,
  count: number,
): Promise<{ e2e: number[]; plain: number[] }> {
  const alice = await bot(srv);
  const bob = await bot(srv);
  const sentAt = new Map<string, number>();
  const e2e: number[] = [];
  bob.on('message', (m) => {
    const t0 = sentAt.get(m.body.text as string);
    if (t0 !== undefined) e2e.push(performance.now() - t0);
  });
  await alice.sendText(bob.account!.username, 'warm-up');
  await until(() => e2e.length === 0 && true);
  await sleep(300);
  const interval = 1000 / rate;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const text = `m${i}`;
    sentAt.set(text, performance.now());
    void alice.sendText(bob.account!.username, text);
  }
  await until(() => e2e.length >= count, 'all e2e messages', 120_000);
  await alice.close();
  await bob.close();

  // The same transport without encryption: two raw devices, JSON payloads.
  const raw = async () => {
    const http = createHttpClient({ baseUrl: srv.httpUrl });
    const u = uname('r');
    await http.signUp(u, PW);
    const l = await http.login(u, PW);
    const id = `${u}:${l.deviceId}`;
    const c = await mqtt.connectAsync(srv.mqttUrl, {
      clientId: id,
      username: id,
      password: l.accessToken,
      clean: false,
      protocolVersion: 4,
    });
    return { c, u, dev: l.deviceId };
  };
  const s = await raw();
  const r = await raw();
  const plain: number[] = [];
  const inbox = `sotto/v1/inbox/${r.u}/${r.dev}`;
  r.c.on('message', (_t, p) => {
    const { t0 } = JSON.parse(p.toString()) as { t0: number };
    plain.push(performance.now() - t0);
  });
  await r.c.subscribeAsync(inbox, { qos: 1 });
  const start2 = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start2 + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    s.c.publish(
      inbox,
      JSON.stringify({ v: 1, kind: 'text', text: `m${i}`, t0: performance.now() }),
      { qos: 1 },
    );
  }
  await until(() => plain.length >= count, 'all plain messages', 120_000);
  await s.c.endAsync();
  await r.c.endAsync();
  return { e2e, plain };
}

/** 2. Fan-out to `members` bots, `rounds` messages. */
async function fanOut(srv: TestServer, members: number, rounds: number): Promise<number[]> {
  const sender = await bot(srv);
  const bots: SottoClient[] = [];
  for (let i = 0; i < members; i++) bots.push(await bot(srv));
  const groupId = await sender.groups.create(
    'fanout',
    bots.map((b) => b.account!.username),
  );
  const seen = new Map<string, number>();
  for (const b of bots)
    b.on('message', (m) =>
      seen.set(m.body.text as string, (seen.get(m.body.text as string) ?? 0) + 1),
    );
  await until(
    async () => {
      for (const b of bots) if (!(await b.store.getGroup(groupId))) return false;
      return true;
    },
    'members know the group',
    60_000,
  );
  await sender.sendText(`group:${groupId}`, 'warm-up');
  await until(() => (seen.get('warm-up') ?? 0) === members, 'warm-up everywhere', 60_000);
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const text = `g${i}`;
    const t0 = performance.now();
    await sender.sendText(`group:${groupId}`, text);
    await until(() => (seen.get(text) ?? 0) === members, 'fan-out', 60_000);
    out.push(performance.now() - t0);
  }
  for (const b of [sender, ...bots]) await b.close();
  return out;
}

/** 3. First message to a group of `devices` member devices (one device per member bot). */
async function firstMessage(
  srv: TestServer,
  devices: number,
): Promise<{
  createMs: number;
  ms: number;
  confirmMs: number;
  freshMs: number;
  freshConfirmMs: number;
}> {
  const sender = await bot(srv);
  const listener = await bot(srv);
  // Members with real keys on the key server but no connection: only the sender's work is measured.
  const names = [
    listener.account!.username,
    ...(await passiveMembers(srv.httpUrl, devices - 1, PW)),
  ];
  // Creating the group announces it to every member device: sessions with all of them.
  const c0 = performance.now();
  const groupId = await sender.groups.create('big', names);
  const createMs = performance.now() - c0;
  await until(
    async () => !!(await listener.store.getGroup(groupId)),
    'listener knows the group',
    60_000,
  );
  // The announcement's 500 envelopes reach the broker at once, most for offline members whose
  // inboxes it persists one by one; a group message published before those writes are done is
  // fanned out behind them. Pause so the next row times the sender, not that backlog.
  await sleep(5000);
  let got = 0;
  listener.on('message', () => (got += 1));
  // Announcing the group set up pairwise sessions with every member device already.
  let t0 = performance.now();
  await sender.sendText(`group:${groupId}`, 'first!');
  const sent = performance.now() - t0;
  await until(() => got === 1, 'listener decrypts', 60_000);
  const confirm = performance.now() - t0;
  // Worst case: no session with anyone — forget them and rotate, so the next
  // message needs 500 bundle claims, 500 PQXDH handshakes and 500 distributions.
  const colds: number[] = [];
  const confirms: number[] = [];
  // CPU time of this process during the send (the server runs in its own): less load-dependent.
  const cpus: number[] = [];
  for (let round = 0; round < coldRounds; round++) {
    await sender.store.batch([
      ...names.map((u) => ({ op: 'deleteSession' as const, user: u, device: '' })),
      { op: 'deleteOwnSenderKey', groupId },
    ]);
    for (const u of names) {
      const { devices } = await sender.http.getUser(u);
      await sender.store.batch(
        devices.map((d) => ({ op: 'deleteSession' as const, user: u, device: d.deviceId })),
      );
    }
    const want = got + 1;
    t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await sender.sendText(`group:${groupId}`, `cold ${round}`);
    colds.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / 1000);
    await until(() => got === want, 'listener decrypts again', 60_000);
    confirms.push(performance.now() - t0);
  }
  if (coldRounds > 1)
    console.error(
      `cold sends (ms): ${colds.map((x) => x.toFixed(0)).join(', ')}; ` +
        `CPU of this process (ms): ${cpus.map((x) => x.toFixed(0)).join(', ')}`,
    );
  const fresh = pct(colds, 50);
  const freshConfirm = pct(confirms, 50);
  await sender.close();
  await listener.close();
  return {
    createMs,
    ms: sent,
    confirmMs: confirm,
    freshMs: fresh,
    freshConfirmMs: freshConfirm,
  };
}

async function main(): Promise<void> {
  const srv = await startServer();
  try {
    const rows: string[] = [];
    const figures: Parameters<typeof printBench>[0] = [];
    const devices = quick ? 50 : 500;
    if (only === undefined) {
      const rate = 200;
      const count = quick ? 200 : 1000;
      const { e2e, plain } = await dmLatency(srv, rate, count);
      const fan = await fanOut(srv, quick ? 10 : 50, quick ? 10 : 30);
      rows.push(
        `| DM latency at ${rate} msg/s, E2E (${count} msgs) | p50 ${ms(pct(e2e, 50))} | p99 ${ms(pct(e2e, 99))} |`,
        `| same path, encryption off | p50 ${ms(pct(plain, 50))} | p99 ${ms(pct(plain, 99))} |`,
        `| ratio E2E / plain | p50 ${(pct(e2e, 50) / pct(plain, 50)).toFixed(2)}× | p99 ${(pct(e2e, 99) / pct(plain, 99)).toFixed(2)}× |`,
        `| group fan-out to ${quick ? 10 : 50} bots (send → last member decrypted) | p50 ${ms(pct(fan, 50))} | p99 ${ms(pct(fan, 99))} |`,
      );
      const members = quick ? 10 : 50;
      const off = (p: number) => ({
        name: `encryption off p${p}`,
        value: pct(plain, p),
        unit: 'ms',
      });
      figures.push(
        { name: `DM latency p50 at ${rate} msg/s, E2E`, value: pct(e2e, 50), unit: 'ms', reference: off(50) },
        { name: `DM latency p99 at ${rate} msg/s, E2E`, value: pct(e2e, 99), unit: 'ms', reference: off(99) },
        { name: `group fan-out to ${members} bots p50 (send → last decrypted)`, value: pct(fan, 50), unit: 'ms' },
        { name: `group fan-out to ${members} bots p99 (send → last decrypted)`, value: pct(fan, 99), unit: 'ms' },
      ); // prettier-ignore
    }
    if (only === undefined || only === 'queued') {
      const q = await queuedBurstSqlite(srv, quick ? 1000 : 5000);
      const rate = (n: number, t: number) => Math.round(n / (t / 1000));
      rows.push(
        `| queued burst of ${q.messages} DMs into the SQLite store (start → all stored; ${q.batches} store batches) | ${rate(q.messages, q.ms)} msg/s (${ms(q.ms)}; CPU ${ms(q.cpuMs)}, ${rate(q.messages, q.cpuMs)} msg per CPU-s; PUBLISHes read ${ms(q.firstPublishMs)} → ${ms(q.lastPublishMs)}) | raw better-sqlite3, same rows in one transaction: ${rate(q.messages, q.referenceMs)} rows/s; the broker's hand-over of as many to a bare mqtt.js client: ${rate(q.messages, q.bareMs)} msg/s (${ms(q.bareMs)}) |`,
      );
      figures.push({
        name: `queued burst of ${q.messages} into SQLite (target ≥ 5,000 msg/s)`,
        value: rate(q.messages, q.ms),
        unit: 'msg/s',
        reference: { name: 'raw better-sqlite3 inserts', value: rate(q.messages, q.referenceMs), unit: 'rows/s' },
      }); // prettier-ignore
      if (only === 'queued') {
        console.log(['| client benchmark | | |', '|---|---|---|', ...rows].join('\n'));
        printBench(figures);
        return;
      }
    }
    const first = await firstMessage(srv, quick ? 50 : 500);
    const cold = coldRounds > 1 ? `, median of ${coldRounds}` : '';
    rows.push(
      `| create a ${quick ? 50 : 500}-device group (member lookups + announcement, sessions with every device) | ${ms(first.createMs)} | |`,
      `| first message to a ${quick ? 50 : 500}-device group, sessions exist (distribution + message published) | ${ms(first.ms)} | member decrypted after ${ms(first.confirmMs)} |`,
      `| same with no sessions (${quick ? 50 : 500} bundle claims + PQXDH + distribution${cold}) | ${ms(first.freshMs)} | member decrypted after ${ms(first.freshConfirmMs)} |`,
    );
    console.log(['| client benchmark | | |', '|---|---|---|', ...rows].join('\n'));
    const warm = { name: 'sessions exist', value: first.ms, unit: 'ms' };
    figures.push(
      { name: `create a ${devices}-device group (announcement to every device)`, value: first.createMs, unit: 'ms' },
      { name: `first message to a ${devices}-device group, sessions exist (target < 1 s)`, value: first.ms, unit: 'ms' },
      { name: `first message to a ${devices}-device group, no sessions (target < 1 s)`, value: first.freshMs, unit: 'ms', reference: warm, ratio: false },
    ); // prettier-ignore
    printBench(figures);
  } finally {
    await srv.close();
  }
}

await main();
process.exit(0);
