/**
 * `npm run cluster`: Redis (AOF on, data in `./data/cluster/redis`), two
 * brokers and two key servers as separate processes on this machine, without
 * Docker (docs/OPERATIONS.md "Cluster"). Prints every port; Ctrl-C stops all.
 *
 * Options: `--keyservers <n>` (2), `--brokers <n>` (2), `--dir <path>`
 * (./data/cluster), `--quiet` (do not echo the processes' logs).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from './cluster-lib.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keyservers: { type: 'string', default: '2' },
      brokers: { type: 'string', default: '2' },
      dir: { type: 'string', default: './data/cluster' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'Usage: npm run cluster -- [--keyservers 2] [--brokers 2] [--dir ./data/cluster] [--quiet]',
    );
    return;
  }
  const count = (name: string, v: string): number => {
    if (!/^[1-9]\d?$/.test(v)) throw new RangeError(`--${name} must be a number from 1 to 99`);
    return Number(v);
  };
  const cluster = await startCluster({
    keyservers: count('keyservers', values.keyservers),
    brokers: count('brokers', values.brokers),
    dir: resolve(values.dir),
    ...(values.quiet ? {} : { echo: process.stdout }),
  });
  const lines = [
    '',
    'Sotto cluster is running:',
    `  redis        ${cluster.redisUrl}   (AOF in ${cluster.dir}/redis)`,
    ...cluster.keyserverUrls.map(
      (u, i) =>
        `  keyserver${i + 1}   ${u}   (/v1, /healthz; /metrics with --metrics-port or METRICS_TOKEN)`,
    ),
    ...cluster.brokerMqttUrls.map(
      (u, i) => `  broker${i + 1}      ${u}   ${cluster.brokerWsUrls[i] ?? ''}`,
    ),
    `  token issuer ${cluster.publicUrl}`,
    `  logs         ${cluster.dir}/logs`,
    'Ctrl-C stops everything.',
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
  console.error(`cluster failed to start: ${(err as Error).message}`);
  process.exit(1);
});
