/**
 * broker.bench.ts's load generators: mqtt.js clients in child processes (load-worker.ts), one
 * job each, driven over IPC (`setup` → `ready`, `go` → `result`, `stop`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TokenIssuer } from '@sotto/server-core/tokens';
import type { Target } from './targets.ts';

export interface Conn {
  clientId: string;
  password?: string;
  topic: string;
}

/** One load worker's clients: `subs` subscribe to their topic, `pubs` publish to theirs. */
export interface Job {
  url: string;
  subs: Conn[];
  pubs: Conn[];
}

export interface Result {
  sent: number;
  received: number;
  receivedInWindow: number;
  latencies: number[];
}

/** A client of `user`'s device `dev` on `topic`, with a token when the target checks them. */
export function conn(
  target: Target,
  issuer: TokenIssuer,
  user: string,
  dev: string,
  topic: string,
): Conn {
  const clientId = `${user}:${dev}`;
  return target.auth
    ? { clientId, password: issuer.issue({ sub: user, dev, kind: 'user' }).token, topic }
    : { clientId, topic };
}

/**
 * Fork one worker per job, connect and subscribe every client (`setup`), then `during` with
 * them connected; the workers are stopped afterwards whatever happens. Resolves with the time
 * and the broker CPU the connects took and what `during` returned.
 */
async function withWorkers<T>(
  jobs: Job[],
  setup: object,
  target: Target,
  during: (workers: ChildProcess[], next: Next) => Promise<T>,
  settleMs: number,
): Promise<{ connectMs: number; connectCpu: number; connections: number; value: T }> {
  const workers = jobs.map(() =>
    fork(join(import.meta.dirname, 'load-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    await Promise.all(workers.map((w) => next(w, 'started')));
    const t0 = performance.now();
    const cpu0 = target.cpuMicros();
    const ready = await Promise.all(
      workers.map((w, i) => {
        const p = next(w, 'ready');
        w.send({ cmd: 'setup', job: { ...jobs[i], ...setup, qos: 1 } });
        return p;
      }),
    );
    const connectMs = performance.now() - t0;
    const connectCpu = target.cpuMicros() - cpu0;
    const connections = ready.reduce((s, r) => s + (r.connections as number), 0);
    return { connectMs, connectCpu, connections, value: await during(workers, next) };
  } finally {
    for (const w of workers) {
      w.send({ cmd: 'stop' });
      setTimeout(() => w.kill('SIGKILL'), 2_000).unref();
    }
    await new Promise((r) => setTimeout(r, settleMs));
  }
}

type Next = (w: ChildProcess, cmd: string) => Promise<Record<string, unknown>>;

/** The worker's next message `cmd`; rejects on its `error` message. */
const next: Next = (w, cmd) =>
  new Promise((resolve, reject) => {
    const on = (m: Record<string, unknown>) => {
      if (m.cmd === 'error') reject(new Error(String(m.message)));
      if (m.cmd !== cmd) return;
      w.off('message', on);
      resolve(m);
    };
    w.on('message', on);
  });

/** Run `jobs` at `opts`; the broker CPU is counted from `go` until every worker reported. */
export async function runLoad(
  jobs: Job[],
  opts: { rate: number; durationMs: number; payloadBytes: number },
  target: Target,
): Promise<{ results: Result[]; connectMs: number; connections: number; cpuMicros: number }> {
  const run = await withWorkers(
    jobs,
    opts,
    target,
    async (workers) => {
      await new Promise((r) => setTimeout(r, 300));
      const cpu0 = target.cpuMicros();
      const results = await Promise.all(
        workers.map((w) => {
          const p = next(w, 'result');
          w.send({ cmd: 'go' });
          return p as unknown as Promise<Result>;
        }),
      );
      return { results, cpuMicros: target.cpuMicros() - cpu0 };
    },
    300,
  );
  return { ...run.value, connectMs: run.connectMs, connections: run.connections };
}

/** Open `jobs`' idle connections and run `hook` while they stay open (a second after the last). */
export async function holdIdle(
  jobs: Job[],
  hook: () => Promise<void>,
  target: Target,
): Promise<{ connectMs: number; connectCpu: number }> {
  const { connectMs, connectCpu } = await withWorkers(
    jobs,
    { rate: 0, durationMs: 0, payloadBytes: 16 },
    target,
    async () => {
      await new Promise((r) => setTimeout(r, 1_000));
      await hook();
    },
    500,
  );
  return { connectMs, connectCpu };
}
