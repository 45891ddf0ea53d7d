/**
 * `npm start`: Sotto in one process (DESIGN.md §2, docs/OPERATIONS.md
 * "Running"). Prints the URL to open; Ctrl-C or SIGTERM shut down cleanly
 * (MQTT clients and HTTP closed, SQLite checkpointed) and exit 0. A bad
 * option or a busy port prints one line and exits 1.
 */
import { ConfigError, helpText, loadEmbeddedConfig, wantsHelp } from './start-config.ts';
import { PermissionError } from '@sotto/keyserver';
import { ListenError, startEmbedded, type EmbeddedServer } from './embedded.ts';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    process.stdout.write(helpText());
    return;
  }
  const config = loadEmbeddedConfig(argv);
  const server: EmbeddedServer = await startEmbedded(config, (line) => console.log(line));

  const ks = config.keyserver;
  const scheme = config.embedded.tls ? 'mqtts' : 'mqtt';
  const wsScheme = config.embedded.tls ? 'wss' : 'ws';
  const lines = [
    '',
    `Sotto is running.  Open ${server.url}`,
    `  REST API   ${server.url}/v1   (docs at ${server.url}/docs)`,
    `  MQTT/WS    ${wsScheme}://${ks.host}:${server.httpPort}/mqtt`,
    server.mqttPort
      ? `  MQTT/TCP   ${scheme}://${ks.host}:${server.mqttPort}`
      : '  MQTT/TCP   off (--mqtt-port 0)',
    `  data       ${ks.dataDir}${ks.redisUrl ? ` + Redis ${ks.redisUrl}` : ''}`,
    server.metricsPort ? `  metrics    http://${ks.host}:${server.metricsPort}/metrics` : '',
    server.webClient ? '' : '  web client not served (see above)',
    ks.host === '127.0.0.1'
      ? '  Listening on this machine only; --host 0.0.0.0 to accept others.'
      : '',
    'Ctrl-C stops it.',
  ];
  console.log(lines.filter((l) => l !== '').join('\n'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.log('forced exit');
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${signal}: shutting down…`);
    const timer = setTimeout(() => {
      console.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    timer.unref();
    server.close().then(
      () => {
        console.log('stopped cleanly');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ListenError || err instanceof ConfigError || err instanceof PermissionError) {
    console.error(err.message);
  } else {
    console.error(`sotto failed to start: ${(err as Error).stack ?? String(err)}`);
  }
  process.exit(1);
});
