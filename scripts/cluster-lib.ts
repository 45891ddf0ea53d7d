/**
 * A local Sotto cluster without Docker (DESIGN.md §2, docs/OPERATIONS.md
 * "Cluster"): one `redis-server` with AOF on, N key servers and M brokers as
 * separate Node processes, all pointed at that Redis and sharing one
 * token-signing key (private half for the key servers, public half for the
 * brokers). Used by `npm run cluster`, the cluster tests and the benchmarks.
 *
 * Every process can be killed with any signal and restarted on the same
 * ports, which is what the fault tests need. With `supervise`, a process that
 * exits on its own (crash, OOM kill, a Redis that stops) is started again on
 * its ports with backoff, and each exit and restart is reported. With
 * `front`, Debian's nginx runs as the one entry (web client, `/v1`, `/mqtt`,
 * MQTT over TCP) with a configuration generated from `deploy/nginx.conf`
 * (scripts/cluster-front.ts). Key servers share one blob folder (`{dir}/blobs`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { freePort, httpOk, redisPing, tcpOpen, until } from './cluster-probes.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WriteStream } from 'node:fs';
import { ensureSigningKeyPair } from '@sotto/server-core/tokens';
import {
  findNginx,
  localNginxConfig,
  NGINX_STREAM_MODULE,
  NginxMissingError,
} from './cluster-front.ts';
import { KEYSERVER_NODE_FLAGS } from './node-flags.ts';

const ROOT = join(import.meta.dirname, '..');
/**
 * Node with tsx as an import hook, in one process: the `tsx` CLI would put a
 * parent process in front that cannot pass SIGKILL on to the real server.
 */
const NODE = process.execPath;
const TS_ARGS = ['--import', 'tsx'];

/** Entry points of the separate processes (owned by the key server and broker packages). */
export const ENTRY = {
  keyserver: join(ROOT, 'keyserver', 'src', 'server.ts'),
  broker: join(ROOT, 'broker', 'src', 'server.ts'),
} as const;

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** Number of key servers (default 2). */
  keyservers?: number;
  /** Number of brokers (default 2). */
  brokers?: number;
  /** Where Redis data, keys and logs go; a fresh temp dir when omitted (removed on stop). */
  dir?: string;
  /** Fixed ports; random free ports when omitted. */
  ports?: {
    redis?: number;
    keyservers?: number[];
    brokersMqtt?: number[];
    brokersWs?: number[];
  };
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Extra environment for every key server (e.g. lower Argon2 cost in tests). */
  keyserverEnv?: Record<string, string>;
  /** Extra environment for every broker (e.g. higher publish rates for load tests). */
  brokerEnv?: Record<string, string>;
  /** Mirror every process's output to this stream, prefixed with its name. */
  echo?: NodeJS.WritableStream;
  /** Time to wait for each process to become ready (default 30 s). */
  readyTimeoutMs?: number;
  /** Restart a process that exits unless it was asked to ({@link Cluster.kill}, `stop`). */
  supervise?: boolean;
  /** Told of every exit and restart the supervisor handles. */
  onSupervisorEvent?: (event: SupervisorEvent) => void;
  /** Backoff of the supervisor: first delay, doubled per quick re-exit up to `maxMs`. */
  backoff?: { firstMs?: number; maxMs?: number; stableMs?: number };
  /** Run nginx in front (see scripts/cluster-front.ts); throws {@link NginxMissingError} without it. */
  front?: {
    /** HTTP port (web client, `/v1`, `/mqtt`); 0 or omitted = a free one. */
    port?: number;
    /** MQTT over TCP through the front; 0 or omitted = a free one, `null` = none. */
    mqttPort?: number | null;
    /** The built web client. */
    webRoot: string;
  };
}

/** What the supervisor did. */
export type SupervisorEvent =
  | {
      type: 'exited';
      name: string;
      code: number | null;
      signal: NodeJS.Signals | null;
      /** The restart comes after this delay. */
      restartInMs: number;
    }
  | { type: 'restarted'; name: string; pid: number; restarts: number }
  | { type: 'restart-failed'; name: string; error: string };

/** What a cluster member is. */
export type MemberKind = 'redis' | 'keyserver' | 'broker' | 'nginx';

/** One process of the cluster. */
export interface Member {
  name: string;
  kind: MemberKind;
  /** HTTP port (key server), MQTT TCP port (broker), Redis port. */
  port: number;
  /** Broker only: MQTT over WebSocket port (`ws://host:wsPort/mqtt`). */
  wsPort?: number;
  /** Current process id, `null` while stopped. */
  pid(): number | null;
  running(): boolean;
}

/** A running cluster. */
export interface Cluster {
  dir: string;
  host: string;
  redisUrl: string;
  /** Issuer of the tokens (what brokers expect in `iss`). */
  publicUrl: string;
  /** `http://host:port` of each key server. */
  keyserverUrls: string[];
  /** `mqtt://host:port` of each broker. */
  brokerMqttUrls: string[];
  /** `ws://host:port/mqtt` of each broker. */
  brokerWsUrls: string[];
  /** The one URL to open (nginx front: web client, `/v1`, `/mqtt`), `null` without a front. */
  frontUrl: string | null;
  /** MQTT over TCP through the front, `null` without one. */
  frontMqttUrl: string | null;
  /** How many times the supervisor has restarted a member. */
  restarts(name: string): number;
  members: Map<string, Member>;
  /** Send `signal` to a member and wait until it has exited. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Stop (SIGTERM) a member if running and start it again on the same ports; resolves when ready. */
  restart(name: string): Promise<void>;
  /** Resident memory of a member in bytes (Linux /proc), `null` when not running. */
  rss(name: string): number | null;
  /** Output lines of a member that look like errors (pino level >= 50, or "Error"/"FATAL"). */
  errorLines(name: string): string[];
  /** Everything a member printed (bounded to the last 2,000 lines). */
  output(name: string): string[];
  /** Stop every process (SIGTERM, then SIGKILL after 5 s) and remove a temp dir. */
  stop(): Promise<void>;
}

interface Proc {
  member: Member;
  /** Should be running: set by launch, cleared by kill/stop; an exit while set is a crash. */
  wanted: boolean;
  startedAt: number;
  backoffMs: number;
  restarts: number;
  timer: NodeJS.Timeout | null;
  command: string;
  args: string[];
  env: Record<string, string>;
  ready: () => Promise<boolean>;
  child: ChildProcess | null;
  lines: string[];
  log: WriteStream;
}

/** Start a cluster; resolves when every process answers. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const host = opts.host ?? '127.0.0.1';
  const nKs = opts.keyservers ?? 2;
  const nBr = opts.brokers ?? 2;
  const tempDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'sotto-cluster-'));
  const readyTimeout = opts.readyTimeoutMs ?? 30_000;
  mkdirSync(join(dir, 'redis'), { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'blobs'), { recursive: true, mode: 0o700 });
  const supervise = opts.supervise ?? false;
  const firstBackoff = opts.backoff?.firstMs ?? 250;
  const maxBackoff = opts.backoff?.maxMs ?? 30_000;
  const stableMs = opts.backoff?.stableMs ?? 60_000;
  let stopping = false;
  const nginx = opts.front ? findNginx() : null;
  if (opts.front && nginx === null) throw new NginxMissingError();

  const keys = {
    privateKeyFile: join(dir, 'keys', 'jwt-ed25519.pem'),
    publicKeyFile: join(dir, 'keys', 'jwt-public.pem'),
  };
  ensureSigningKeyPair(keys);

  const redisPort = opts.ports?.redis ?? (await freePort(host));
  const ksPorts: number[] = [];
  for (let i = 0; i < nKs; i++) ksPorts.push(opts.ports?.keyservers?.[i] ?? (await freePort(host)));
  const mqttPorts: number[] = [];
  const wsPorts: number[] = [];
  for (let i = 0; i < nBr; i++) {
    mqttPorts.push(opts.ports?.brokersMqtt?.[i] ?? (await freePort(host)));
    wsPorts.push(opts.ports?.brokersWs?.[i] ?? (await freePort(host)));
  }
  const frontPort = opts.front ? opts.front.port || (await freePort(host)) : null;
  const frontMqttPort =
    opts.front && opts.front.mqttPort !== null
      ? opts.front.mqttPort || (await freePort(host))
      : null;
  const redisUrl = `redis://${host}:${redisPort}`;
  const frontUrl = frontPort === null ? null : `http://${host}:${frontPort}`;
  // The issuer of tokens: the URL people open when there is a front.
  const publicUrl = frontUrl ?? `http://${host}:${ksPorts[0]}`;

  if (!existsSync(ENTRY.keyserver)) throw new Error(`missing ${ENTRY.keyserver}`);
  if (!existsSync(ENTRY.broker)) throw new Error(`missing ${ENTRY.broker}`);

  const procs = new Map<string, Proc>();
  const baseEnv = (): Record<string, string> => {
    const env: Record<string, string> = {};
    // Only what a Node process needs from ours; never leak test settings like PORT.
    for (const k of ['PATH', 'HOME', 'NODE_OPTIONS', 'TMPDIR', 'LANG'])
      if (process.env[k] !== undefined) env[k] = process.env[k];
    return env;
  };

  const add = (
    name: string,
    kind: MemberKind,
    port: number,
    command: string,
    args: string[],
    env: Record<string, string>,
    ready: () => Promise<boolean>,
    wsPort?: number,
  ) => {
    const p: Proc = {
      member: {
        name,
        kind,
        port,
        ...(wsPort !== undefined ? { wsPort } : {}),
        pid: () => p.child?.pid ?? null,
        running: () => p.child !== null && p.child.exitCode === null && p.child.signalCode === null,
      },
      command,
      args,
      env,
      ready,
      wanted: false,
      startedAt: 0,
      backoffMs: 0,
      restarts: 0,
      timer: null,
      child: null,
      lines: [],
      log: createWriteStream(join(dir, 'logs', `${name}.log`), { flags: 'a' }),
    };
    procs.set(name, p);
  };

  add(
    'redis',
    'redis',
    redisPort,
    'redis-server',
    [
      '--port', String(redisPort),
      '--bind', host,
      '--dir', join(dir, 'redis'),
      '--appendonly', 'yes',
      '--appendfsync', 'always',
      '--save', '',
      '--maxmemory', '1gb', '--maxmemory-policy', 'noeviction',
      '--protected-mode', 'yes',
      '--loglevel', 'warning',
    ], // prettier-ignore
    {},
    () => redisPing(host, redisPort),
  );
  for (let i = 0; i < nKs; i++) {
    const port = ksPorts[i] as number;
    add(
      `keyserver${i + 1}`,
      'keyserver',
      port,
      NODE,
      [...KEYSERVER_NODE_FLAGS, ...TS_ARGS, ENTRY.keyserver],
      {
        HOST: host,
        PORT: String(port),
        DATA_DIR: join(dir, `keyserver${i + 1}`),
        // One blob folder for all key servers: blob metadata is in Redis, the files here.
        BLOB_DIR: join(dir, 'blobs'),
        REDIS_URL: redisUrl,
        PUBLIC_URL: publicUrl,
        JWT_KEY_FILE: keys.privateKeyFile,
        BROKER_URL: `mqtt://${host}:${mqttPorts[i % nBr]}`,
        LOG_LEVEL: 'warn',
        ...opts.keyserverEnv,
      },
      () => httpOk(`http://${host}:${port}/healthz`),
    );
  }
  for (let i = 0; i < nBr; i++) {
    const mqttPort = mqttPorts[i] as number;
    add(
      `broker${i + 1}`,
      'broker',
      mqttPort,
      NODE,
      [...TS_ARGS, ENTRY.broker],
      {
        HOST: host,
        PORT: String(wsPorts[i]),
        MQTT_PORT: String(mqttPort),
        REDIS_URL: redisUrl,
        DATA_DIR: join(dir, `broker${i + 1}`),
        JWT_PUBLIC_KEY_FILE: keys.publicKeyFile,
        JWT_ISSUER: publicUrl,
        JWT_AUDIENCE: 'sotto',
        BROKER_ID: `broker${i + 1}`,
        LOG_LEVEL: 'warn',
        ...opts.brokerEnv,
      },
      () => tcpOpen(host, mqttPort),
      wsPorts[i],
    );
  }

  if (opts.front && nginx !== null && frontPort !== null) {
    const nginxDir = join(dir, 'nginx');
    mkdirSync(nginxDir, { recursive: true, mode: 0o700 });
    const conf = join(nginxDir, 'nginx.conf');
    writeFileSync(
      conf,
      localNginxConfig({
        dir,
        host,
        port: frontPort,
        mqttPort: frontMqttPort,
        keyserverPorts: ksPorts,
        brokerWsPorts: wsPorts,
        brokerMqttPorts: mqttPorts,
        webRoot: opts.front.webRoot,
        streamModule: existsSync(NGINX_STREAM_MODULE) ? NGINX_STREAM_MODULE : null,
      }),
    );
    add(
      'nginx',
      'nginx',
      frontPort,
      nginx,
      ['-e', join(dir, 'logs', 'nginx-error.log'), '-p', nginxDir, '-c', conf, '-g', 'daemon off;'],
      {},
      () => httpOk(`${frontUrl}/healthz`),
    );
  }

  const report = (event: SupervisorEvent) => opts.onSupervisorEvent?.(event);

  const onExit = (
    p: Proc,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ) => {
    // Its own process group (see launch): nginx's workers go with their master.
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    }
    if (p.child !== child || !p.wanted || stopping || !supervise) return;
    // Quick re-exits back off (a crash loop must not spin); a process that ran a while starts over.
    p.backoffMs =
      Date.now() - p.startedAt > stableMs || p.backoffMs === 0
        ? firstBackoff
        : Math.min(p.backoffMs * 2, maxBackoff);
    report({ type: 'exited', name: p.member.name, code, signal, restartInMs: p.backoffMs });
    p.timer = setTimeout(() => {
      p.timer = null;
      if (!p.wanted || stopping) return;
      launch(p).then(
        () => {
          p.restarts++;
          report({
            type: 'restarted',
            name: p.member.name,
            pid: p.child?.pid ?? 0,
            restarts: p.restarts,
          });
        },
        (err: unknown) => {
          report({ type: 'restart-failed', name: p.member.name, error: (err as Error).message });
          // Still running but never ready: end it; its exit schedules the next try.
          if (p.member.running()) p.child?.kill('SIGKILL');
        },
      );
    }, p.backoffMs);
  };

  const launch = async (p: Proc) => {
    const child = spawn(p.command, p.args, {
      cwd: ROOT,
      env: { ...baseEnv(), ...p.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C on the launcher reaches the launcher only, which stops
      // the members in order (Redis last) instead of the supervisor seeing them all crash.
      detached: true,
    });
    p.child = child;
    p.wanted = true;
    p.startedAt = Date.now();
    child.once('exit', (code, signal) => onExit(p, child, code, signal));
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      p.log.write(text);
      for (const line of text.split('\n')) {
        if (line === '') continue;
        p.lines.push(line);
        opts.echo?.write(`[${p.member.name}] ${line}\n`);
      }
      if (p.lines.length > 2000) p.lines.splice(0, p.lines.length - 2000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const spawnFailed = new Promise<never>((_, reject) =>
      child.once('error', (err) =>
        reject(new Error(`cannot start ${p.member.name}: ${err.message}`)),
      ),
    );
    await Promise.race([
      until(p.ready, readyTimeout, p.member.name, p.member.running, () => p.lines),
      spawnFailed,
    ]);
  };

  const kill = async (name: string, signal: NodeJS.Signals = 'SIGTERM') => {
    const p = procs.get(name);
    if (!p) throw new RangeError(`no cluster member named ${name}`);
    p.wanted = false;
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    const child = p.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill(signal);
    });
  };

  // Members run in their own process groups, so nothing else ends them if this process exits
  // without stopping the cluster (a second Ctrl-C, an uncaught error): end them on the way out.
  const killLeftovers = () => {
    for (const p of procs.values()) {
      const pid = p.child?.pid;
      if (pid === undefined || !p.member.running()) continue;
      try {
        process.kill(-pid, 'SIGKILL'); // the group: nginx's workers too
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killLeftovers);

  const stopAll = async () => {
    stopping = true;
    // The front first, Redis last, so nobody logs a lost Redis connection on the way down.
    const rank = (p: Proc) => (p.member.kind === 'nginx' ? 0 : p.member.kind === 'redis' ? 2 : 1);
    const order = [...procs.values()].sort((a, b) => rank(a) - rank(b));
    for (const p of order) await kill(p.member.name, 'SIGTERM').catch(() => undefined);
    process.off('exit', killLeftovers);
    for (const p of procs.values()) p.log.end();
  };

  try {
    await launch(procs.get('redis') as Proc);
    // Key servers and brokers start in parallel (they only need Redis), the front after them.
    const servers = [...procs.values()].filter(
      (p) => p.member.kind === 'keyserver' || p.member.kind === 'broker',
    );
    await Promise.all(servers.map(launch));
    const front = procs.get('nginx');
    if (front) await launch(front);
  } catch (err) {
    await stopAll();
    if (tempDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const get = (name: string): Proc => {
    const p = procs.get(name);
    if (!p) throw new RangeError(`no cluster member named ${name}`);
    return p;
  };

  return {
    dir,
    host,
    redisUrl,
    publicUrl,
    keyserverUrls: ksPorts.map((p) => `http://${host}:${p}`),
    brokerMqttUrls: mqttPorts.map((p) => `mqtt://${host}:${p}`),
    brokerWsUrls: wsPorts.map((p) => `ws://${host}:${p}/mqtt`),
    frontUrl,
    frontMqttUrl: frontMqttPort === null ? null : `mqtt://${host}:${frontMqttPort}`,
    restarts: (name) => get(name).restarts,
    members: new Map([...procs].map(([k, p]) => [k, p.member])),
    kill,
    async restart(name) {
      const p = get(name);
      await kill(name, 'SIGTERM');
      await launch(p);
    },
    rss(name) {
      const pid = get(name).child?.pid;
      if (pid === undefined || !get(name).member.running()) return null;
      const status = `/proc/${pid}/status`;
      if (!existsSync(status)) return null;
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(status, 'utf8'));
      return m ? Number(m[1]) * 1024 : null;
    },
    errorLines(name) {
      return get(name).lines.filter(
        (l) =>
          /"level":\s*(50|60)\b/.test(l) ||
          /\b(FATAL|Unhandled|TypeError|ReferenceError)\b/.test(l),
      );
    },
    output(name) {
      return [...get(name).lines];
    },
    async stop() {
      await stopAll();
      if (tempDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
