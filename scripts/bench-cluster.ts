/**
 * Scale-out by cost (issue 21; docs/PERFORMANCE.md "Cluster scale-out"): what one delivered
 * QoS 1 message costs each broker, Redis in CPU, and Redis in round trips, for one node and
 * for two (publisher on A and subscriber on B; mixed), all in one run on one cluster.
 *
 * CPU is read from /proc/PID/stat (utime + stime) of each process before and after a phase;
 * round trips are Redis' `total_reads_processed` (one per socket read, i.e. per pipelined
 * batch a client sends), commands its `total_commands_processed`. Load: `pairs` DM pairs of
 * raw mqtt.js clients with persistent sessions, a fixed rate per node (so each broker is as
 * busy in the two-node phases as the single one: batching per event-loop turn depends on
 * load), every delivery counted.
 *
 *   npx tsx scripts/bench-cluster.ts [--pairs 40] [--rate 500 per node] [--seconds 12] [--clean]
 *     [--pin-brokers 0]   (taskset: every broker on this CPU; run the script itself with
 *                          `taskset -c 1` so the load generator and Redis take the other one)
 *     [--max]             (no rate: as fast as 200 unacknowledged messages per client allow)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceClientId, inboxTopic } from '@sotto/crypto/wire';
import { startCluster, type Cluster } from './cluster-lib.ts';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '40' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '12' },
    clean: { type: 'boolean', default: false },
    'pin-brokers': { type: 'string' },
    max: { type: 'boolean', default: false },
  },
  strict: true,
});
const PAIRS = Number(values.pairs);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5), here 0-based after the command name: 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function redisStats(port: number): { reads: number; commands: number } {
  const out = execFileSync('redis-cli', ['-p', String(port), 'info', 'stats']).toString();
  const get = (k: string) => Number(new RegExp(`^${k}:(\\d+)`, 'm').exec(out)?.[1] ?? NaN);
  return { reads: get('total_reads_processed'), commands: get('total_commands_processed') };
}

async function account(ks: string, username: string): Promise<{ user: string; token: string }> {
  const body = (o: object) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(o),
  });
  const password = 'correct horse battery staple';
  await fetch(`${ks}/v1/accounts`, body({ username, password }));
  const r = await fetch(`${ks}/v1/sessions`, body({ username, password, deviceId: 'd1' }));
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return { user: username, token: ((await r.json()) as { accessToken: string }).accessToken };
}

async function connect(url: string, who: { user: string; token: string }): Promise<MqttClient> {
  const id = deviceClientId(who.user, 'd1');
  const c = mqtt.connect(url, {
    clientId: id,
    username: id,
    password: who.token,
    clean: values.clean,
    reconnectPeriod: 0,
  });
  await new Promise<void>((res, rej) => {
    c.once('connect', () => res());
    c.once('error', rej);
  });
  return c;
}

interface Phase {
  name: string;
  /** Brokers carrying the load: the total rate is `rate` per node, so each node is as busy. */
  nodes: number;
  /** Broker index of pair i's sender and receiver. */
  place: (i: number) => [number, number];
}

async function runPhase(cluster: Cluster, users: { user: string; token: string }[], ph: Phase) {
  const urls = cluster.brokerMqttUrls;
  const senders: MqttClient[] = [];
  const receivers: MqttClient[] = [];
  let delivered = 0;
  for (let i = 0; i < PAIRS; i++) {
    const [a, b] = ph.place(i);
    const rx = await connect(
      urls[b] as string,
      users[2 * i + 1] as { user: string; token: string },
    );
    rx.on('message', () => delivered++);
    await rx.subscribeAsync(inboxTopic(users[2 * i + 1]?.user as string, 'd1'), { qos: 1 });
    receivers.push(rx);
    senders.push(await connect(urls[a] as string, users[2 * i] as { user: string; token: string }));
  }
  const pids = [...cluster.members.values()]
    .filter((m) => m.kind === 'broker' || m.kind === 'redis')
    .map((m) => ({ name: m.name, pid: m.pid() as number }));
  const cpu0 = pids.map((p) => cpuSeconds(p.pid));
  const redisPort = cluster.members.get('redis')?.port as number;
  const r0 = redisStats(redisPort);
  const started = Date.now();
  let sent = 0;
  const payload = Buffer.alloc(256, 0xa5);
  const inflight = new Array<number>(PAIRS).fill(0);
  const end = started + SECONDS * 1000;
  while (Date.now() < end) {
    const due = values.max
      ? Infinity
      : Math.floor(((Date.now() - started) / 1000) * RATE * ph.nodes);
    let progressed = false;
    for (let k = 0; sent < due && k < PAIRS * 4; k++) {
      const i = sent % PAIRS;
      if (inflight[i]! >= 200) break;
      inflight[i]!++;
      progressed = true;
      senders[i]!.publishAsync(inboxTopic(users[2 * i + 1]?.user as string, 'd1'), payload, {
        qos: 1,
      }).then(
        () => inflight[i]!--,
        () => inflight[i]!--,
      );
      sent++;
    }
    await new Promise((r) => setTimeout(r, progressed ? 1 : 5));
  }
  // Drain: every sent message delivered (bounded).
  const drainUntil = Date.now() + 30_000;
  while (delivered < sent && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  const elapsed = (Date.now() - started) / 1000;
  const cpu1 = pids.map((p) => cpuSeconds(p.pid));
  const r1 = redisStats(redisPort);
  await Promise.all([...senders, ...receivers].map((c) => c.endAsync()));
  const perMsgUs = (i: number) => ((cpu1[i]! - cpu0[i]!) / delivered) * 1e6;
  const row: Record<string, number | string> = { phase: ph.name, sent, delivered, elapsed };
  pids.forEach((p, i) => (row[`${p.name} µs/msg`] = Math.round(perMsgUs(i))));
  row['redis reads/msg'] = Number(((r1.reads - r0.reads) / delivered).toFixed(2));
  row['redis cmds/msg'] = Number(((r1.commands - r0.commands) / delivered).toFixed(2));
  row['delivered/s'] = Math.round(delivered / elapsed);
  return row;
}

async function main(): Promise<void> {
  const cluster = await startCluster({
    keyservers: 1,
    brokers: 2,
    keyserverEnv: { ARGON2_MEMORY_KIB: '64', ARGON2_TIME: '1', RATE_LIMIT: 'off' },
    brokerEnv: { PUBLISH_RATE: '100000', PUBLISH_BURST: '100000', LOG_LEVEL: 'warn' },
    readyTimeoutMs: 90_000,
  });
  try {
    if (values['pin-brokers'] !== undefined) {
      for (const m of cluster.members.values())
        if (m.kind === 'broker')
          execFileSync('taskset', ['-a', '-p', '-c', values['pin-brokers'], String(m.pid())]);
    }
    const ks = cluster.keyserverUrls[0] as string;
    const users = [];
    for (let i = 0; i < 2 * PAIRS; i++) users.push(await account(ks, `scale_${i}`));
    const phases: Phase[] = [
      { name: '1 node (A only)', nodes: 1, place: () => [0, 0] },
      { name: '2 nodes, pub A / sub B', nodes: 2, place: () => [0, 1] },
      { name: '2 nodes, mixed', nodes: 2, place: (i) => [i % 2, (i >> 1) % 2] },
    ];
    const rows = [];
    for (const ph of phases) {
      const row = await runPhase(cluster, users, ph);
      console.log(JSON.stringify(row));
      rows.push(row);
    }
    console.table(rows);
    console.log(`load average: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  } finally {
    await cluster.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
