/**
 * Load generator process for broker.bench.ts: opens the MQTT connections it
 * is given (mqtt.js, TCP or WebSocket, TCP_NODELAY), then on `go` publishes
 * QoS 1 messages carrying a monotonic send timestamp (CLOCK_MONOTONIC is
 * shared by all processes of the machine) and reports deliveries and
 * latencies. Driven over IPC by `fork()`.
 */
import mqtt, { type MqttClient } from 'mqtt';

interface Conn {
  clientId: string;
  password?: string;
}
interface Job {
  url: string;
  subs: (Conn & { topic: string })[];
  pubs: (Conn & { topic: string })[];
  /** Messages per second per publisher, or 0 = as fast as a window of 32 in-flight allows. */
  rate: number;
  durationMs: number;
  payloadBytes: number;
  qos: 0 | 1;
}

const clients: MqttClient[] = [];
let received = 0;
let receivedInWindow = 0;
let windowEnd = 0;
let latencies: number[] = [];
let measuring = false;

function open(url: string, c: Conn): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: c.clientId,
      ...(c.password ? { username: c.clientId, password: c.password } : {}),
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      keepalive: 120,
      clean: true,
    });
    client.once('connect', () => {
      // TCP_NODELAY on the client side too (mqtt.js leaves Nagle on).
      (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
      const raw = (client.stream as unknown as { socket?: { setNoDelay?: (b: boolean) => void } })
        .socket;
      raw?.setNoDelay?.(true);
      resolve(client);
    });
    client.once('error', reject);
    clients.push(client);
  });
}

async function inBatches<T, R>(items: T[], size: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

let job: Job;
let pubClients: MqttClient[] = [];

process.on('message', (msg: { cmd: string; job?: Job }) => {
  void (async () => {
    if (msg.cmd === 'setup' && msg.job) {
      job = msg.job;
      const t0 = performance.now();
      const subClients = await inBatches(job.subs, 100, async (s) => {
        const c = await open(job.url, s);
        await c.subscribeAsync(s.topic, { qos: job.qos });
        c.on('message', (_t, payload) => {
          if (!measuring) return;
          received++;
          if (Date.now() <= windowEnd) receivedInWindow++;
          const sent = payload.readBigInt64BE(0);
          latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
        });
        return c;
      });
      void subClients;
      pubClients = await inBatches(job.pubs, 100, (p) => open(job.url, p));
      process.send?.({
        cmd: 'ready',
        connectMs: performance.now() - t0,
        connections: job.subs.length + job.pubs.length,
      });
    } else if (msg.cmd === 'go') {
      received = 0;
      receivedInWindow = 0;
      latencies = [];
      measuring = true;
      let sent = 0;
      const end = Date.now() + job.durationMs;
      windowEnd = end;
      const payload = () => {
        const b = Buffer.alloc(job.payloadBytes);
        b.writeBigInt64BE(process.hrtime.bigint(), 0);
        return b;
      };
      await Promise.all(
        pubClients.map(async (c, i) => {
          const topic = job.pubs[i]!.topic;
          if (job.rate > 0) {
            const interval = 1000 / job.rate;
            let next = performance.now() + Math.random() * interval;
            while (Date.now() < end) {
              const wait = next - performance.now();
              if (wait > 0) await new Promise((r) => setTimeout(r, wait));
              c.publish(topic, payload(), { qos: job.qos });
              sent++;
              next += interval;
            }
          } else {
            await new Promise<void>((resolve) => {
              let inflight = 0;
              const pump = () => {
                while (inflight < 32 && Date.now() < end) {
                  inflight++;
                  sent++;
                  c.publish(topic, payload(), { qos: job.qos }, () => {
                    inflight--;
                    if (Date.now() < end) pump();
                    else if (inflight === 0) resolve();
                  });
                }
                if (Date.now() >= end && inflight === 0) resolve();
              };
              pump();
            });
          }
        }),
      );
      // Subscriber-only workers (cluster scenario) measure for the whole window too.
      const left = end - Date.now();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      // Let in-flight deliveries land (bounded), then report.
      await new Promise((r) => setTimeout(r, 1000));
      measuring = false;
      process.send?.({ cmd: 'result', sent, received, receivedInWindow, latencies });
    } else if (msg.cmd === 'stop') {
      for (const c of clients) c.end(true);
      setTimeout(() => process.exit(0), 100);
    }
  })().catch((err: unknown) => {
    process.send?.({ cmd: 'error', message: String(err) });
  });
});
process.send?.({ cmd: 'started' });
