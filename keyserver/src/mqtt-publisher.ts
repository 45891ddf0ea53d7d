/**
 * Control-notice publisher for a standalone (cluster-mode) key server: an MQTT
 * client that connects to a broker as `service:keyserver:{n}` with a `service`
 * access token minted by this key server, and publishes on
 * `sotto/v1/control/{user}/{device}` (DESIGN.md §4.2: "key server only").
 * The token is re-minted before it expires so reconnects keep working.
 */
import { randomBytes } from 'node:crypto';
import { serviceClientId } from '@sotto/crypto/wire';
import mqtt from 'mqtt';
import type { ControlPublisher } from './context.ts';
import type { TokenIssuer } from '@sotto/server-core/tokens';

/** A publisher that can be closed. */
export interface MqttControlPublisher extends ControlPublisher {
  readonly clientId: string;
  close(): Promise<void>;
}

/** Connect to `url` as the key server's service identity. */
export function createMqttControlPublisher(opts: {
  url: string;
  issuer: TokenIssuer;
  /** Instance number in the client id (default: random hex). */
  instance?: string;
  /** Re-mint the token this often, ms (default 10 min; tokens live 15). */
  refreshMs?: number;
}): MqttControlPublisher {
  const n = opts.instance ?? randomBytes(4).toString('hex');
  const clientId = serviceClientId(n);
  const mint = () => opts.issuer.issue({ sub: 'keyserver', dev: n, kind: 'service' }).token;
  const client = mqtt.connect(opts.url, {
    clientId,
    username: clientId,
    password: mint(),
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 1000,
  });
  client.on('error', () => {
    // mqtt.js reconnects by itself; publishes fail meanwhile and are logged by the caller.
  });
  const timer = setInterval(
    () => {
      client.options.password = mint();
    },
    opts.refreshMs ?? 10 * 60_000,
  );
  timer.unref();
  return {
    clientId,
    publish(topic, payload) {
      return new Promise<void>((resolve, reject) => {
        client.publish(topic, Buffer.from(payload), { qos: 1 }, (err) =>
          err ? reject(err) : resolve(),
        );
      });
    },
    async close() {
      clearInterval(timer);
      await client.endAsync();
    },
  };
}
