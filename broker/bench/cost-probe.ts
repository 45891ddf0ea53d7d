/**
 * Cost probe (`npx tsx broker/bench/cost-probe.ts [--n=2000] [--messages=20000] [--rounds=3]`),
 * issue 20: what our checks cost against plain Aedes, in figures a loaded machine disturbs least.
 * Each broker (bench-broker.ts: ours with token auth and the full ACL; plain-aedes.ts) runs in a
 * process of its own, alternately in the same run; the clients are raw MQTT 3.1.1 sockets
 * (mqtt-packet) in this process, far lighter than the bench's mqtt.js workers. Reported per broker:
 * - V8 heap per idle connection: `heapUsed` after a full GC, before and after `n` clients
 *   connected and subscribed (300 connected first, so one-time caches are filled), ÷ n;
 * - broker CPU (user + system) per connect+subscribe over those `n` connects;
 * - broker CPU per delivered message: 50 publisher/subscriber pairs, QoS 1, 1 KiB, a window of
 *   32 unacknowledged publishes per publisher, `messages` in all.
 * The broker's CPU is read from /proc, so the figures are the broker's own work, whatever else
 * runs; the ratio to plain Aedes in the same run is the figure to quote.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { createTokenIssuer, generateSigningKey, publicKeyToPem } from '@sotto/server-core/tokens';
import { forkBroker, type ForkedTarget } from './targets.ts';
import { heapDiffRows } from './heap-diff.ts';

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const N = arg('n', 2000);
const MESSAGES = arg('messages', 20000);
const ROUNDS = arg('rounds', 3);
/** `--cpu-prof-dir=DIR`: the brokers write V8 CPU profiles there (they exit by themselves). */
const cpuProfDir = process.argv.find((a) => a.startsWith('--cpu-prof-dir='))?.slice(15);
/** `--heap-snapshot-dir=DIR`: heap snapshots before and after the idle connections, diffed. */
const snapshotDir = process.argv.find((a) => a.startsWith('--heap-snapshot-dir='))?.slice(20);
/**
 * `--dist`: our broker from its compiled JavaScript (`npm run build -w broker` first), as the
 * Docker image runs it; by default from the TypeScript sources through tsx, as `npm start` does
 * (tsx adds a `__name` call per function created, visible in the per-delivery profile).
 */
const dist = process.argv.includes('--dist');
/** `--only=idle` or `--only=p2p`. */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const PAIRS = 50;
const WINDOW = 32;
const key = generateSigningKey();
const issuer = createTokenIssuer({
  privateKey: key,
  issuer: 'sotto',
  audience: 'sotto',
  ttlSeconds: 3600,
});

type Broker = ForkedTarget;
const start = (name: 'sotto' | 'aedes'): Promise<Broker> =>
  forkBroker(
    { dist, cpuProfDir },
    name === 'sotto' ? { publicKeyPem: publicKeyToPem(key), groups: {} } : undefined,
  );
const stop = (b: Broker): Promise<void> => b.stop();

interface RawClient {
  socket: Socket;
  send(packet: object): void;
  onPacket: (p: mqttPacket.Packet) => void;
}

/** Connect and subscribe one raw client; resolves after its SUBACK. */
function open(b: Broker, user: string, topic: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port: b.tcpPort });
    socket.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const c: RawClient = {
      socket,
      send: (p) => socket.write(mqttPacket.generate(p as mqttPacket.Packet)),
      onPacket: (p) => {
        if (p.cmd === 'connack') {
          if (p.returnCode !== 0) reject(new Error(`connack ${p.returnCode}`));
          else c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
        } else if (p.cmd === 'suback') resolve(c);
      },
    };
    parser.on('packet', (p) => c.onPacket(p));
    socket.on('data', (d) => parser.parse(d));
    socket.on('error', reject);
    const clientId = `${user}:d`;
    c.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 300,
      clientId,
      ...(b.auth
        ? {
            username: clientId,
            password: Buffer.from(issuer.issue({ sub: user, dev: 'd', kind: 'user' }).token),
          }
        : {}),
    });
  });
}

async function openMany(b: Broker, prefix: string, n: number): Promise<RawClient[]> {
  const out: RawClient[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 100); j++)
      batch.push(open(b, `u${prefix}${j}`, `sotto/v1/inbox/u${prefix}${j}/d`));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

async function idle(b: Broker) {
  const warm = await openMany(b, 'w', 300);
  const snapBefore =
    snapshotDir && (await b.snapshot(join(snapshotDir, `${b.name}-before.heapsnapshot`)));
  const before = await b.mem();
  const cpu0 = b.cpuMicros();
  const clients = await openMany(b, 'i', N);
  const cpu1 = b.cpuMicros();
  const after = await b.mem();
  if (snapBefore) {
    const snapAfter = await b.snapshot(join(snapshotDir, `${b.name}-after.heapsnapshot`));
    console.log(`\n${b.name}: heap growth per idle connection by constructor\n`);
    console.log(heapDiffRows(snapBefore, snapAfter, N).join('\n'));
  }
  for (const c of [...warm, ...clients]) c.socket.destroy();
  return {
    heapPerConn: (after.heapUsed - before.heapUsed) / N,
    externalPerConn: (after.external - before.external) / N,
    rssPerConn: (after.rss - before.rss) / N,
    cpuPerConnect: (cpu1 - cpu0) / N,
  };
}

async function p2p(b: Broker) {
  const payload = Buffer.alloc(1024, 7);
  const subs = await openMany(b, 's', PAIRS);
  const pubs = await openMany(b, 'p', PAIRS);
  const perPub = Math.ceil(MESSAGES / PAIRS);
  let delivered = 0;
  const cpu0 = b.cpuMicros();
  await new Promise<void>((resolve) => {
    for (const s of subs)
      s.onPacket = (p) => {
        if (p.cmd !== 'publish') return;
        if (p.qos === 1) s.send({ cmd: 'puback', messageId: p.messageId });
        if (++delivered === perPub * PAIRS) resolve();
      };
    pubs.forEach((pub, i) => {
      let sent = 0;
      const topic = `sotto/v1/inbox/us${i}/d`;
      const next = () => {
        if (sent >= perPub) return;
        sent++;
        pub.send({ cmd: 'publish', topic, qos: 1, messageId: (sent % 65535) + 1, payload });
      };
      pub.onPacket = (p) => p.cmd === 'puback' && next();
      for (let k = 0; k < WINDOW; k++) next();
    });
  });
  const cpu1 = b.cpuMicros();
  for (const c of [...subs, ...pubs]) c.socket.destroy();
  return { cpuPerDelivery: (cpu1 - cpu0) / delivered };
}

const rows: Record<string, Record<string, number[]>> = {};
const record = (broker: string, metric: string, v: number) => {
  ((rows[metric] ??= {})[broker] ??= []).push(v);
};
for (let r = 0; r < ROUNDS; r++) {
  const order: ('sotto' | 'aedes')[] = r % 2 === 0 ? ['sotto', 'aedes'] : ['aedes', 'sotto'];
  for (const name of order) {
    for (const scenario of ['idle', 'p2p'] as const) {
      if (only && only !== scenario) continue;
      const b = await start(name);
      if (scenario === 'idle') {
        const i = await idle(b);
        record(name, 'heap bytes per idle connection', i.heapPerConn);
        record(name, 'RSS bytes per idle connection', i.rssPerConn);
        record(name, 'external (Buffers) bytes per idle connection', i.externalPerConn);
        record(name, 'CPU µs per connect+subscribe', i.cpuPerConnect);
      } else {
        record(name, 'CPU µs per delivery (p2p QoS 1)', (await p2p(b)).cpuPerDelivery);
      }
      await stop(b);
    }
    console.error(`[probe] round ${r + 1}/${ROUNDS} ${name}`);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(`| metric | Sotto | plain Aedes | Sotto / plain Aedes | Sotto runs | Aedes runs |`);
console.log(`|---|---|---|---|---|---|`);
for (const [metric, by] of Object.entries(rows)) {
  const s = median(by.sotto!);
  const a = median(by.aedes!);
  const f = (v: number) => v.toFixed(v < 100 ? 1 : 0);
  console.log(
    `| ${metric} | ${f(s)} | ${f(a)} | ${(s / a).toFixed(2)}x (${s - a >= 0 ? '+' : ''}${f(s - a)}) | ${by.sotto!.map(f).join(' / ')} | ${by.aedes!.map(f).join(' / ')} |`,
  );
}
process.exit(0);
