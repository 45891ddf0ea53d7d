/**
 * Broker failover (docs/CLIENT.md "Brokers and failover"): one MQTT client
 * that knows every broker of a cluster. mqtt.js tries `servers` in turn, one
 * per connection attempt, so the first attempt goes to the first broker and a
 * lost broker is replaced by the next one in the list. This module turns
 * broker URLs into that list and spaces the attempts out: the first try of
 * each other broker after a loss is quick, and every full round without a
 * CONNACK doubles the wait, up to a cap, so a dead cluster is not hammered.
 *
 * The session stays the same across brokers (same clientId, clean=false, the
 * same mqtt.js client and its store of unacknowledged QoS 1 publishes, which
 * are sent again on the new broker). In cluster mode the brokers keep sessions
 * and queued messages in the shared Redis; separate brokers with in-memory
 * persistence each keep their own queue.
 */
import type { MqttClient } from 'mqtt';

/** Protocols a broker URL may use (what mqtt.js can dial from Node and browsers). */
const PROTOCOLS = ['mqtt', 'mqtts', 'ws', 'wss', 'tcp', 'ssl'] as const;

/** One broker as mqtt.js `servers` wants it. */
export interface BrokerServer {
  host: string;
  port: number;
  protocol: (typeof PROTOCOLS)[number];
}

const DEFAULT_PORTS: Record<string, number> = { mqtt: 1883, tcp: 1883, mqtts: 8883, ssl: 8883 };

/**
 * Parse broker URLs (`mqtt://host:1883`, `wss://host/mqtt` …) in failover
 * order. Throws RangeError naming the bad URL. WebSocket brokers must share
 * one path (the path of the URL the caller's connect function dials).
 */
export function brokerServers(urls: readonly string[]): BrokerServer[] {
  if (urls.length === 0) throw new RangeError('brokers: at least one broker URL is needed');
  return urls.map((raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new RangeError(`brokers: not a URL: ${raw}`);
    }
    const protocol = PROTOCOLS.find((p) => `${p}:` === u.protocol);
    if (!protocol) throw new RangeError(`brokers: unsupported protocol in ${raw}`);
    const port = u.port
      ? Number(u.port)
      : (DEFAULT_PORTS[protocol] ?? (protocol === 'wss' ? 443 : 80));
    return { host: u.hostname, port, protocol };
  });
}

/** Tunables of {@link backoffDelay}. */
export interface BackoffPolicy {
  /** Wait before the first attempt after a loss, and between brokers in the first round (ms). */
  baseMs: number;
  /** Longest wait between attempts (ms). */
  maxMs: number;
}

/**
 * Wait before the next attempt, given how many attempts in a row have failed
 * and how many brokers there are: `base · 2^(full rounds failed)`, capped.
 */
export function backoffDelay(failures: number, brokers: number, policy: BackoffPolicy): number {
  const rounds = Math.floor(failures / Math.max(1, brokers));
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(rounds, 20));
}

/**
 * Apply {@link backoffDelay} to a live mqtt.js client: mqtt.js re-arms its
 * reconnect timer from `options.reconnectPeriod` after every failed attempt,
 * so the period is set before each attempt and reset on CONNACK. Returns a
 * function that removes the listeners.
 */
export function applyBackoff(
  client: MqttClient,
  brokers: number,
  policy: BackoffPolicy,
): () => void {
  let failures = 0;
  const onReconnect = (): void => {
    failures += 1;
    client.options.reconnectPeriod = backoffDelay(failures, brokers, policy);
  };
  const onConnect = (): void => {
    failures = 0;
    client.options.reconnectPeriod = policy.baseMs;
  };
  client.options.reconnectPeriod = policy.baseMs;
  client.on('reconnect', onReconnect);
  client.on('connect', onConnect);
  return () => {
    client.off('reconnect', onReconnect);
    client.off('connect', onConnect);
  };
}
