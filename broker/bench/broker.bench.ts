/**
 * Broker benchmark (`npm run bench -w broker [-- --quick]`), issue 4.
 *
 * Our broker (auth + ACL on, in its own process) and Debian's Mosquitto
 * (TCP + WebSocket listeners on 127.0.0.1, `set_tcp_nodelay true`,
 * persistence off, anonymous), measured alternately in the same run with the
 * same load generators (mqtt.js in child processes). Every figure is the
 * median of the rounds and is printed beside Mosquitto's with the ratio.
 * Scenarios: point-to-point QoS 1 1 KiB (max msg/s with 50 pairs, p50/p99 at
 * 1,000 msg/s) over TCP and WebSocket; group fan-out to 200 and 1,000
 * subscribers at 100 msg/s; idle connection memory and connect+subscribe
 * rate; a two-broker cluster on Redis (publisher on A, subscriber on B).
 * Beside the maximum rates, the broker's own CPU per delivered message (the
 * load generators share the CPUs, so a rate alone mixes both). With
 * `--plain-aedes`, Aedes without our checks is measured in the same rounds.
 * After the table, every figure again as a `BENCH` line with Mosquitto's (or,
 * for the cluster, one node's) as the reference, for `npm run bench`
 * (scripts/bench-lib.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenIssuer, generateSigningKey, publicKeyToPem } from '@sotto/server-core/tokens';
import { startRedis, type RedisProcess } from '../../test/support/redis.ts';
import { printBench } from '../../scripts/bench-lib.ts';
import type { MemFigures } from './bench-ipc.ts';
import { conn as connFor, holdIdle, runLoad, type Conn, type Job } from './load.ts';
import { forkBroker, startMosquitto, type Target } from './targets.ts';

const quick = process.argv.includes('--quick');
/** `--only=p2p-tcp,p2p-ws,fanout,idle,cluster`: run just these scenarios (investigations). */
const argValue = (name: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const only = argValue('only')?.split(',');
const runs = (scenario: string) => !only || only.includes(scenario);
/** `--plain-aedes`: also measure Aedes without our authentication and checks (plain-aedes.ts). */
const plainAedes = process.argv.includes('--plain-aedes');
/** `--cpu-prof-dir=DIR`: our broker processes write V8 CPU profiles there. */
const cpuProfDir = argValue('cpu-prof-dir');
/**
 * `--dist`: our broker from its compiled JavaScript (`npm run build -w broker` first), as the
 * Docker image runs it; by default from the TypeScript sources through tsx, as `npm start` does.
 */
const dist = process.argv.includes('--dist');
const ROUNDS = quick ? 1 : 3;
const DURATION = quick ? 3_000 : 5_000;
const key = generateSigningKey();
const issuer = createTokenIssuer({
  privateKey: key,
  issuer: 'sotto',
  audience: 'sotto',
  ttlSeconds: 3600,
});
const publicKeyPem = publicKeyToPem(key);
const tmp = mkdtempSync(join(tmpdir(), 'sotto-bench-'));

const forkOpts = { dist, cpuProfDir };
const startSotto = (groups: Record<string, string[]>, redisUrl?: string, id?: string) =>
  forkBroker(forkOpts, { publicKeyPem, groups, redisUrl, id });
/** Plain Aedes, no authentication (`--plain-aedes`): see plain-aedes.ts. */
const startPlainAedes = () => forkBroker(forkOpts);
const conn = (target: Target, user: string, dev: string, topic: string) =>
  connFor(target, issuer, user, dev, topic);

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => pct(xs, 50);

// ---------- scenarios ----------
const PAIRS = 50;
const WORKERS = 2;
/** One empty job per load worker, all on `url`. */
const workerJobs = (url: string) =>
  Array.from({ length: WORKERS }, (): Job => ({ url, subs: [] as Conn[], pubs: [] as Conn[] }));

function pairJobs(target: Target, url: string, subUrl: string, tag: string) {
  const jobs = workerJobs(url);
  const subJobs = workerJobs(subUrl);
  for (let i = 0; i < PAIRS; i++) {
    const topic = `sotto/v1/inbox/r${tag}${i}/d`;
    const w = i % WORKERS;
    (url === subUrl ? jobs : subJobs)[w]!.subs.push(conn(target, `r${tag}${i}`, 'd', topic));
    jobs[w]!.pubs.push(conn(target, `s${tag}${i}`, 'd', topic));
  }
  if (url === subUrl) return jobs;
  // Cluster: subscribers in their own workers on broker B.
  return [...jobs, ...subJobs];
}

async function p2p(target: Target, ws: boolean, rate: number, tag: string, urlB?: string) {
  const url = ws ? target.wsUrl : target.tcpUrl;
  const jobs = pairJobs(target, url, urlB ?? url, tag);
  const { results, cpuMicros } = await runLoad(
    jobs,
    { rate, durationMs: DURATION, payloadBytes: 1024 },
    target,
  );
  const inWindow = results.reduce((s, r) => s + r.receivedInWindow, 0);
  const lat = results.flatMap((r) => r.latencies);
  const delivered = results.reduce((s, r) => s + r.received, 0);
  return {
    msgsPerSec: inWindow / (DURATION / 1000),
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    /** Broker CPU from the start of the window until every delivery landed, per delivery. */
    cpuPerDelivery: cpuMicros / delivered,
    delivered,
    sent: results.reduce((s, r) => s + r.sent, 0),
  };
}

async function fanout(target: Target, subscribers: number, tag: string) {
  const topic = `sotto/v1/group/g${subscribers}`;
  const jobs = workerJobs(target.tcpUrl);
  for (let i = 0; i < subscribers; i++)
    jobs[i % WORKERS]!.subs.push(conn(target, `f${subscribers}m${i}`, `d${tag}`, topic));
  jobs[0]!.pubs.push(conn(target, `f${subscribers}m0`, `p${tag}`, topic));
  const { results, cpuMicros } = await runLoad(
    jobs,
    { rate: 100, durationMs: DURATION, payloadBytes: 1024 },
    target,
  );
  const lat = results.flatMap((r) => r.latencies);
  const sent = results.reduce((s, r) => s + r.sent, 0);
  const received = results.reduce((s, r) => s + r.received, 0);
  return {
    cpuPerDelivery: cpuMicros / received,
    deliveriesPerSec: results.reduce((s, r) => s + r.receivedInWindow, 0) / (DURATION / 1000),
    expectedPerSec: 100 * subscribers,
    p99: pct(lat, 99),
    lost: sent * subscribers - received,
  };
}

/**
 * Idle connections: `n` clients connect and subscribe, in two halves. Memory per connection is
 * the RSS growth from the first half to the second divided by `n / 2`, i.e. what one more
 * connection costs; one-time growth (code, caches filled on first use, a heap that grows in
 * steps) lands in the first half and is not charged to connections. The growth from before the
 * first connection, divided by `n`, is reported beside it. For the Node brokers the same slope is
 * broken down by `process.memoryUsage()` (bench-ipc.ts {@link MemFigures}: V8 heap committed and
 * live, external Buffers, and the native rest), and the broker's own CPU per connect+subscribe is
 * read from /proc over both connect phases (issue 20).
 */
async function idle(target: Target, n: number, ws: boolean, tag: string) {
  const url = ws ? target.wsUrl : target.tcpUrl;
  const half = (from: number) => {
    const jobs = workerJobs(url);
    for (let i = from; i < from + n / 2; i++)
      jobs[i % WORKERS]!.subs.push(
        conn(target, `i${tag}${i}`, 'd', `sotto/v1/inbox/i${tag}${i}/d`),
      );
    return jobs;
  };
  const before = await target.mem();
  let mid = before;
  let after = before;
  let connectMs = 0;
  let connectCpu = 0;
  // The first half stays connected while the second connects.
  const first = await holdIdle(
    half(0),
    async () => {
      mid = await target.mem();
      const second = await holdIdle(
        half(n / 2),
        async () => {
          after = await target.mem();
        },
        target,
      );
      connectMs += second.connectMs;
      connectCpu += second.connectCpu;
    },
    target,
  );
  connectMs += first.connectMs;
  connectCpu += first.connectCpu;
  const perConn = (k: keyof MemFigures) => (after[k] - mid[k]) / (n / 2);
  return {
    bytesPerConn: perConn('rss'),
    bytesPerConnFromStart: (after.rss - before.rss) / n,
    connectSubscribePerSec: n / (connectMs / 1000),
    /** Where the second half's RSS went (issue 20): V8 heap, outside it, and the rest. */
    breakdown: {
      heapUsed: perConn('heapUsed'),
      heapTotal: perConn('heapTotal'),
      newSpace: perConn('newSpace'),
      external: perConn('external'),
      arrayBuffers: perConn('arrayBuffers'),
      native: perConn('rss') - perConn('heapTotal') - perConn('external'),
    },
    cpuPerConnect: connectCpu / n,
  };
}

// ---------- main ----------
/**
 * Broker CPU (user + system) per message delivered to a subscriber, µs. It says how much of the
 * machine each broker needs for the same work, which the throughput figures cannot when the load
 * generators on the same CPUs are the limit.
 */
const CPU = 'CPU µs/delivery';
type Figures = Record<string, number>;
type Who = 'sotto' | 'mosquitto' | 'aedes';
const table: {
  scenario: string;
  metric: string;
  values: Record<Who, number[]>;
  better: 'higher' | 'lower';
  /** A breakdown row: in the table, not a `BENCH` figure. */
  detail?: boolean;
}[] = [];
function record(
  scenario: string,
  metric: string,
  who: Who,
  value: number,
  better: 'higher' | 'lower',
  detail = false,
) {
  let row = table.find((r) => r.scenario === scenario && r.metric === metric);
  const values = { sotto: [], mosquitto: [], aedes: [] };
  if (!row) table.push((row = { scenario, metric, values, better, detail }));
  row.values[who].push(value);
}

/** The rows of one idle run: RSS per connection, its breakdown (issue 20), the connect rate. */
function recordIdle(scenario: string, who: Who, it: Awaited<ReturnType<typeof idle>>) {
  record(scenario, 'bytes/conn', who, it.bytesPerConn, 'lower');
  record(scenario, 'RSS growth/conn from start', who, it.bytesPerConnFromStart, 'lower');
  const b = it.breakdown;
  const parts: [string, number][] = [
    ['of it V8 heap committed (heapTotal)', b.heapTotal],
    ['of which live objects (heapUsed)', b.heapUsed],
    ['of which young generation (new space)', b.newSpace],
    ['of it external (Buffers)', b.external],
    ['of which ArrayBuffers', b.arrayBuffers],
    ['of it native (RSS - heapTotal - external)', b.native],
  ];
  for (const [metric, v] of parts) record(scenario, `${metric} bytes/conn`, who, v, 'lower', true);
  record(scenario, 'connect+subscribe/s', who, it.connectSubscribePerSec, 'higher');
  record(scenario, 'broker CPU µs per connect+subscribe', who, it.cpuPerConnect, 'lower', true);
}

async function main() {
  const IDLE_N = quick ? 2_000 : 10_000;
  const groups: Record<string, string[]> = {};
  for (const n of [200, 1000]) groups[`g${n}`] = Array.from({ length: n }, (_, i) => `f${n}m${i}`);
  const fanouts = quick ? [200] : [200, 1000];
  const log = (...a: unknown[]) => console.error('[bench]', ...a);
  const start = (who: Who) =>
    who === 'sotto'
      ? startSotto(groups)
      : who === 'mosquitto'
        ? startMosquitto(tmp)
        : startPlainAedes();
  // Alternate, so that no broker always runs first (or right after the same other one).
  const whos: Who[] = plainAedes ? ['sotto', 'mosquitto', 'aedes'] : ['sotto', 'mosquitto'];
  const roundOrder = (round: number) => (round % 2 === 0 ? whos : [...whos].reverse());

  for (let round = 0; round < ROUNDS; round++) {
    for (const which of roundOrder(round)) {
      const target = await start(which);
      try {
        const tag = `${round}${which[0]}`;
        log(`round ${round + 1}/${ROUNDS} ${which}`);
        if (runs('p2p-tcp')) {
          const maxTcp = await p2p(target, false, 0, `${tag}a`);
          record('p2p TCP QoS1 1 KiB, 50 pairs', 'max msg/s', which, maxTcp.msgsPerSec, 'higher');
          record('p2p TCP QoS1 1 KiB, 50 pairs', CPU, which, maxTcp.cpuPerDelivery, 'lower');
          const latTcp = await p2p(target, false, 20, `${tag}b`);
          record('p2p TCP QoS1 1 KiB @ 1,000 msg/s', 'p50 ms', which, latTcp.p50, 'lower');
          record('p2p TCP QoS1 1 KiB @ 1,000 msg/s', 'p99 ms', which, latTcp.p99, 'lower');
        }
        if (runs('p2p-ws')) {
          const maxWs = await p2p(target, true, 0, `${tag}c`);
          record(
            'p2p WebSocket QoS1 1 KiB, 50 pairs',
            'max msg/s',
            which,
            maxWs.msgsPerSec,
            'higher',
          );
          record('p2p WebSocket QoS1 1 KiB, 50 pairs', CPU, which, maxWs.cpuPerDelivery, 'lower');
          const latWs = await p2p(target, true, 20, `${tag}d`);
          record('p2p WebSocket QoS1 1 KiB @ 1,000 msg/s', 'p50 ms', which, latWs.p50, 'lower');
          record('p2p WebSocket QoS1 1 KiB @ 1,000 msg/s', 'p99 ms', which, latWs.p99, 'lower');
        }
        for (const n of runs('fanout') ? fanouts : []) {
          const f = await fanout(target, n, tag);
          record(
            `group fan-out 1→${n} @ 100 msg/s`,
            'deliveries/s',
            which,
            f.deliveriesPerSec,
            'higher',
          );
          record(`group fan-out 1→${n} @ 100 msg/s`, 'p99 ms', which, f.p99, 'lower');
          record(`group fan-out 1→${n} @ 100 msg/s`, CPU, which, f.cpuPerDelivery, 'lower');
        }
        if (round === 0 && runs('idle')) {
          // Each idle figure on a process of its own: after the loads above (or the other idle
          // run) the process keeps the memory it grew, and the new connections reuse it — the WS
          // figure once came out negative that way.
          const fresh = async <T>(fn: (t: Target) => Promise<T>): Promise<T> => {
            const t = await start(which);
            try {
              return await fn(t);
            } finally {
              await t.stop();
            }
          };
          const it = await fresh((t) => idle(t, IDLE_N, false, `${tag}t`));
          recordIdle(`idle connections TCP (${IDLE_N})`, which, it);
          const iw = await fresh((t) => idle(t, IDLE_N, true, `${tag}w`));
          recordIdle(`idle connections WS (${IDLE_N})`, which, iw);
        }
      } finally {
        await target.stop();
      }
    }
  }

  // Cluster: two of our brokers on one Redis, publisher on A, subscriber on B; compared with one node.
  const redis: RedisProcess = await startRedis();
  const cluster: Figures[] = [];
  try {
    for (let round = 0; round < (runs('cluster') ? ROUNDS : 0); round++) {
      const a = await startSotto(groups, redis.url, 'bench-a');
      const b = await startSotto(groups, redis.url, 'bench-b');
      try {
        log(`cluster round ${round + 1}/${ROUNDS}`);
        const max = await p2p(a, false, 0, `c${round}a`, b.tcpUrl);
        const lat = await p2p(a, false, 20, `c${round}b`, b.tcpUrl);
        cluster.push({ max: max.msgsPerSec, p50: lat.p50, p99: lat.p99 });
      } finally {
        await a.stop();
        await b.stop();
      }
    }
  } finally {
    await redis.stop();
  }

  // ---------- report ----------
  const fmt = (v: number) =>
    Number.isNaN(v) ? 'n/a' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
  const lines: string[] = [];
  lines.push(
    `Broker benchmark ${quick ? '(--quick, 1 round)' : `(${ROUNDS} rounds, medians)`}${dist ? ', our broker from its build (--dist)' : ''}, ${new Date().toISOString()}`,
  );
  lines.push('');
  const aedesCols = plainAedes
    ? ' plain Aedes | ratio (Aedes/Mosquitto) | ratio (Sotto/Aedes) |'
    : '';
  lines.push(
    `| scenario | metric | Sotto (auth+ACL) | Mosquitto | ratio (Sotto/Mosquitto) |${aedesCols}`,
  );
  lines.push(`|---|---|---|---|---|${plainAedes ? '---|---|---|' : ''}`);
  const over = (x: number, y: number) => (Number.isFinite(x / y) ? `${(x / y).toFixed(2)}x` : '–');
  for (const r of table) {
    const [s, m, a] = [r.values.sotto, r.values.mosquitto, r.values.aedes].map(median);
    const ratio = (x: number) => over(x, m!);
    const aedes = plainAedes ? ` ${fmt(a!)} | ${ratio(a!)} | ${over(s!, a!)} |` : '';
    lines.push(`| ${r.scenario} | ${r.metric} | ${fmt(s!)} | ${fmt(m!)} | ${ratio(s!)} |${aedes}`);
  }
  // The cluster rows compare with one node's p2p TCP figures: both scenarios must have run.
  const withCluster = cluster.length > 0 && runs('p2p-tcp');
  const single = withCluster
    ? median(
        table.find((r) => r.metric === 'max msg/s' && r.scenario.startsWith('p2p TCP'))!.values
          .sotto,
      )
    : NaN;
  const cMax = median(cluster.map((c) => c.max!));
  if (withCluster)
    lines.push(
      `| cluster A→B (2 brokers, Redis) | max msg/s | ${fmt(cMax)} | – | ${(cMax / single).toFixed(2)}x of one Sotto node |`,
    );
  if (withCluster)
    lines.push(
      `| cluster A→B @ 1,000 msg/s | p50 ms | ${fmt(median(cluster.map((c) => c.p50!)))} | – | |`,
      `| cluster A→B @ 1,000 msg/s | p99 ms | ${fmt(median(cluster.map((c) => c.p99!)))} | – | |`,
    );
  console.log(lines.join('\n'));

  /** The unit of a table metric on a `BENCH` line ("p99 ms", "max msg/s" → "ms", "msg/s"). */
  const unit = (metric: string) =>
    metric === 'connect+subscribe/s'
      ? 'conn/s'
      : metric === CPU
        ? 'µs/delivery'
        : metric === 'RSS growth/conn from start'
          ? 'bytes/conn'
          : metric.replace(/^(p\d+|max) /, '');
  const oneNode = (metric: string) =>
    median(
      table.find((r) => r.scenario.startsWith('p2p TCP QoS1 1 KiB @') && r.metric === metric)!
        .values.sotto,
    );
  const clusterFig = (metric: 'p50' | 'p99') => ({
    name: `cluster A→B @ 1,000 msg/s: ${metric}`,
    value: median(cluster.map((c) => c[metric]!)),
    unit: 'ms',
    reference: { name: `one Sotto node ${metric}`, value: oneNode(`${metric} ms`), unit: 'ms' },
  });
  printBench([
    ...table
      .filter((r) => !r.detail)
      .map((r) => ({
        name: `${r.scenario}: ${r.metric.replace(/ ms$/, '')}`,
        value: median(r.values.sotto),
        unit: unit(r.metric),
        reference: { name: 'Mosquitto', value: median(r.values.mosquitto), unit: unit(r.metric) },
      })),
    ...(withCluster
      ? [
          {
            name: 'cluster A→B (2 brokers, Redis): max msg/s',
            value: cMax,
            unit: 'msg/s',
            reference: { name: 'one Sotto node', value: single, unit: 'msg/s' },
          },
          clusterFig('p50'),
          clusterFig('p99'),
        ]
      : []),
  ]);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(tmp, { recursive: true, force: true }));
