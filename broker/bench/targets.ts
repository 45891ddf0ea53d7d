/**
 * The brokers a benchmark measures, each in a process of its own: ours (bench-broker.ts: token
 * auth and the full ACL) and plain Aedes (plain-aedes.ts) forked with IPC (bench-ipc.ts), and
 * Debian's Mosquitto spawned with a generated configuration. Shared by broker.bench.ts and
 * cost-probe.ts, so both measure the same processes started the same way.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '../../test/support/ports.ts';
import type { MemFigures } from './bench-ipc.ts';
import { cpuMicros } from './cpu.ts';

export interface Target {
  name: string;
  tcpPort: number;
  tcpUrl: string;
  wsUrl: string;
  /** True when clients must present a token (our broker). */
  auth: boolean;
  /** User + system CPU the broker process has used so far, µs. */
  cpuMicros(): number;
  /** Memory after a full GC; Mosquitto has only `rss` (the rest NaN). */
  mem(): Promise<MemFigures>;
  stop(): Promise<void>;
}

/** A Node broker in a child process: also its process and heap snapshots. */
export interface ForkedTarget extends Target {
  proc: ChildProcess;
  /** Write a heap snapshot to `file` (after a full GC); resolves with its path. */
  snapshot(file: string): Promise<string>;
}

export interface ForkOptions {
  /** Our broker from its compiled JavaScript (`--dist`), as the Docker image runs it. */
  dist: boolean;
  /** The broker writes a V8 CPU profile there and, to write it, exits by itself on stop. */
  cpuProfDir?: string | undefined;
}

/** What our broker needs: the token key, group members, and (cluster) Redis and a node id. */
export interface SottoConfig {
  publicKeyPem: string;
  groups: Record<string, string[]>;
  redisUrl?: string | undefined;
  id?: string | undefined;
}

const here = import.meta.dirname;

/** One IPC request answered by the reply carrying the same `cmd`. */
function ask<T>(
  proc: ChildProcess,
  request: { cmd: string; [field: string]: unknown },
): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { cmd: string }) => {
      if (m.cmd !== request.cmd) return;
      proc.off('message', on);
      resolve(m as T);
    };
    proc.on('message', on);
    proc.send(request);
  });
}

/** Fork our broker (`sotto` given) or plain Aedes; resolves once it listens. */
export async function forkBroker(opts: ForkOptions, sotto?: SottoConfig): Promise<ForkedTarget> {
  const name = sotto ? 'sotto' : 'aedes';
  const tcpPort = await freePort();
  const wsPort = await freePort();
  const script = sotto ? 'bench-broker.ts' : 'plain-aedes.ts';
  const proc = fork(join(here, script), [JSON.stringify({ tcpPort, wsPort, ...sotto })], {
    execArgv: [
      '--import',
      'tsx',
      ...(opts.dist && sotto ? ['--conditions=sotto:dist'] : []),
      '--expose-gc',
      ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (c) => reject(new Error(`bench broker ${name} exited ${c}`)));
    proc.on('message', (m: { cmd: string }) => m.cmd === 'ready' && resolve());
  });
  return {
    name,
    proc,
    tcpPort,
    tcpUrl: `mqtt://127.0.0.1:${tcpPort}`,
    wsUrl: `ws://127.0.0.1:${wsPort}/mqtt`,
    auth: sotto !== undefined,
    cpuMicros: () => cpuMicros(proc.pid!),
    mem: () => ask<MemFigures>(proc, { cmd: 'mem' }),
    snapshot: async (file) => (await ask<{ file: string }>(proc, { cmd: 'snapshot', file })).file,
    stop: () =>
      new Promise((resolve) => {
        proc.removeAllListeners('exit');
        proc.once('exit', () => resolve());
        if (opts.cpuProfDir) proc.send({ cmd: 'exit' });
        else proc.kill('SIGKILL');
      }),
  };
}

/**
 * Debian's Mosquitto: TCP and WebSocket listeners on 127.0.0.1, `set_tcp_nodelay true`,
 * persistence off, anonymous; its configuration file goes to `tmp`.
 */
export async function startMosquitto(tmp: string): Promise<Target> {
  const tcpPort = await freePort();
  const wsPort = await freePort();
  const conf = join(tmp, `mosquitto-${tcpPort}.conf`);
  writeFileSync(
    conf,
    [
      'per_listener_settings false',
      'allow_anonymous true',
      'persistence false',
      'set_tcp_nodelay true',
      'max_queued_messages 100000',
      'log_type error',
      `listener ${tcpPort} 127.0.0.1`,
      'protocol mqtt',
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      '',
    ].join('\n'),
  );
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(
    () =>
      new Promise<boolean>((r) => {
        const s = createConnection({ host: '127.0.0.1', port: tcpPort }, () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      }),
    { timeoutMs: 10_000, what: 'mosquitto' },
  );
  return {
    name: 'mosquitto',
    tcpPort,
    tcpUrl: `mqtt://127.0.0.1:${tcpPort}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    auth: false,
    cpuMicros: () => cpuMicros(proc.pid!),
    mem: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      const heap = { heapUsed: NaN, heapTotal: NaN, newSpace: NaN, external: NaN };
      return Promise.resolve({ rss: kb * 1024, ...heap, arrayBuffers: NaN });
    },
    stop: () =>
      new Promise((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      }),
  };
}
