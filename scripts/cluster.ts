/**
 * `npm run cluster`: Redis (AOF on, data in `./data/cluster/redis`), two
 * brokers and two key servers as separate processes on this machine, without
 * Docker, behind Debian's nginx configured from `deploy/nginx.conf`
 * (docs/OPERATIONS.md "Cluster"). Prints the one URL to open; a child that
 * crashes is restarted with backoff and reported; Ctrl-C stops all.
 *
 * Options: `--port <n>` (8080: the front's HTTP port), `--mqtt-port <n>`
 * (1883: MQTT over TCP through the front), `--no-front` (no nginx; then there
 * is no web client), `--keyservers <n>` (2), `--brokers <n>` (2), `--dir
 * <path>` (./data/cluster), `--quiet` (do not echo the processes' logs).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, type SupervisorEvent } from './cluster-lib.ts';
import { NginxMissingError } from './cluster-front.ts';
import { ensureWebClient } from './web-assets.ts';

const USAGE =
  'Usage: npm run cluster -- [--port 8080] [--mqtt-port 1883] [--no-front] [--keyservers 2] ' +
  '[--brokers 2] [--dir ./data/cluster] [--quiet]';

function describe(e: SupervisorEvent): string {
  switch (e.type) {
    case 'exited':
      return (
        `${e.name} exited (${e.signal ?? `code ${String(e.code)}`}); ` +
        `restarting it in ${(e.restartInMs / 1000).toFixed(2)} s`
      );
    case 'restarted':
      return `${e.name} is back (pid ${e.pid}; restart ${e.restarts})`;
    case 'restart-failed':
      return `${e.name} did not come back: ${e.error.split('\n')[0] ?? ''}; trying again`;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      'mqtt-port': { type: 'string', default: '1883' },
      'no-front': { type: 'boolean', default: false },
      keyservers: { type: 'string', default: '2' },
      brokers: { type: 'string', default: '2' },
      dir: { type: 'string', default: './data/cluster' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const count = (name: string, v: string): number => {
    if (!/^[1-9]\d?$/.test(v)) throw new RangeError(`--${name} must be a number from 1 to 99`);
    return Number(v);
  };
  const port = (name: string, v: string): number => {
    const n = Number(v);
    if (!/^\d{1,5}$/.test(v) || n < 1 || n > 65535)
      throw new RangeError(`--${name} must be a port from 1 to 65535`);
    return n;
  };
  const frontPort = port('port', values.port);
  const frontMqttPort = port('mqtt-port', values['mqtt-port']);
  let webRoot: string | null = null;
  if (!values['no-front']) {
    const web = ensureWebClient({ build: true, log: (l) => console.log(l) });
    if (!web.ok) throw new Error(`the web client is not available: ${web.reason}`);
    webRoot = web.dir;
  }
  const cluster = await startCluster({
    keyservers: count('keyservers', values.keyservers),
    brokers: count('brokers', values.brokers),
    dir: resolve(values.dir),
    supervise: true,
    onSupervisorEvent: (e) => console.log(`[supervisor] ${describe(e)}`),
    ...(webRoot !== null ? { front: { port: frontPort, mqttPort: frontMqttPort, webRoot } } : {}),
    ...(values.quiet ? {} : { echo: process.stdout }),
  });
  const lines = [
    '',
    cluster.frontUrl
      ? `Sotto cluster is running. Open ${cluster.frontUrl}/`
      : 'Sotto cluster is running (no front: no web client).',
    '',
    ...(cluster.frontMqttUrl ? [`  mqtt (tcp)   ${cluster.frontMqttUrl}   (bots, devices)`] : []),
    'Behind it:',
    `  redis        ${cluster.redisUrl}   (AOF in ${cluster.dir}/redis)`,
    ...cluster.keyserverUrls.map(
      (u, i) =>
        `  keyserver${i + 1}   ${u}   (/v1, /healthz; /metrics with --metrics-port or METRICS_TOKEN)`,
    ),
    ...cluster.brokerMqttUrls.map(
      (u, i) => `  broker${i + 1}      ${u}   ${cluster.brokerWsUrls[i] ?? ''}`,
    ),
    `  blobs        ${cluster.dir}/blobs   (shared by the key servers)`,
    `  logs         ${cluster.dir}/logs`,
    'Crashed processes are restarted. Ctrl-C stops everything.',
  ];
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log('\nstopping the cluster…');
    cluster.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  if (err instanceof NginxMissingError) console.error(err.message);
  else console.error(`cluster failed to start: ${(err as Error).message}`);
  process.exit(1);
});
