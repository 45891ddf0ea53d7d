/**
 * Prompt delivery across brokers (issue 21): a QoS 1 message that any broker
 * has PUBACKed reaches an online subscriber on the other broker within one
 * second — in steady state, right after the sender's broker was replaced, and
 * right after (and during) a Redis restart.
 *
 * Raw mqtt.js clients, no outbox and no re-sends: a message the brokers drop
 * after the PUBACK shows up here as late or missing, not hidden by an
 * end-to-end re-send 45–60 s later. The receiver keeps one connection for the
 * whole test (a reconnect would hand it its stored queue and hide the loss).
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../scripts/cluster-lib.ts';
import { inboxTopic } from '@sotto/crypto/wire';
import { waitFor } from '../support/ports.ts';
import {
  connectDevice,
  endClient,
  FAST_KEYSERVER_ENV,
  signupAndLogin,
  type Login,
} from '../embedded/helpers.ts';
import { idOf, tagged } from './helpers.ts';

/** The promise: PUBACK at the sender to arrival at the receiver. */
const MAX_LATENCY_MS = 1_000;
/** How long after the last PUBACK the test waits before calling the rest missing. */
const GRACE_MS = 3_000;

interface Probe {
  id: string;
  ackedAt: number | null;
}

describe('cluster: every PUBACKed QoS 1 message reaches an online subscriber on the other broker within 1 s', () => {
  let cluster: Cluster;
  let sender: MqttClient;
  let receiver: MqttClient;
  let receiverLogin: Login;
  /** First arrival time per id at the receiver. */
  const arrivals = new Map<string, number>();
  let receiverDisconnects = 0;

  beforeAll(async () => {
    cluster = await startCluster({
      keyservers: 1,
      keyserverEnv: FAST_KEYSERVER_ENV,
      readyTimeoutMs: 90_000,
    });
    const [b1, b2] = cluster.brokerMqttUrls as [string, string];
    const ks = cluster.keyserverUrls[0] as string;
    const senderLogin = await signupAndLogin(ks, 'pd_sender', 'd1');
    receiverLogin = await signupAndLogin(ks, 'pd_receiver', 'd1');
    // Persistent sessions, as the clients use them. The sender only knows broker 1, so after
    // broker 1 is replaced it comes back to the new process.
    receiver = await connectDevice(b2, receiverLogin, { clean: false, reconnectPeriod: 0 });
    receiver.on('close', () => receiverDisconnects++);
    receiver.on('message', (_topic, payload) => {
      const id = idOf(payload);
      if (!arrivals.has(id)) arrivals.set(id, Date.now());
    });
    await receiver.subscribeAsync(inboxTopic(receiverLogin.username, receiverLogin.deviceId), {
      qos: 1,
    });
    sender = await connectDevice(b1, senderLogin, { clean: false, reconnectPeriod: 100 });
  }, 180_000);

  afterAll(async () => {
    await Promise.all([sender, receiver].filter(Boolean).map(endClient));
    await cluster?.stop();
  });

  /** Publish one tagged QoS 1 message; `ackedAt` is set when its PUBACK arrives. */
  const publish = (id: string): Probe => {
    const probe: Probe = { id, ackedAt: null };
    sender
      .publishAsync(inboxTopic(receiverLogin.username, receiverLogin.deviceId), tagged(id), {
        qos: 1,
      })
      .then(
        () => {
          probe.ackedAt = Date.now();
        },
        () => undefined,
      );
    return probe;
  };

  /**
   * Wait until every acknowledged probe has arrived (or GRACE_MS after the last PUBACK) and
   * return the ones that came later than MAX_LATENCY_MS after their PUBACK, or never.
   */
  const late = async (probes: Probe[]): Promise<string[]> => {
    await waitFor(() => probes.every((p) => p.ackedAt !== null), {
      timeoutMs: 30_000,
      what: 'every PUBACK',
    });
    const lastAck = Math.max(...probes.map((p) => p.ackedAt as number));
    await waitFor(
      () => probes.every((p) => arrivals.has(p.id)) || Date.now() > lastAck + GRACE_MS,
      {
        timeoutMs: GRACE_MS + 1_000,
        what: 'arrivals',
      },
    ).catch(() => undefined);
    return probes
      .filter((p) => {
        const at = arrivals.get(p.id);
        return at === undefined || at - (p.ackedAt as number) > MAX_LATENCY_MS;
      })
      .map(
        (p) =>
          `${p.id} ${arrivals.has(p.id) ? `+${(arrivals.get(p.id) as number) - (p.ackedAt as number)} ms` : 'missing'}`,
      );
  };

  /** Send `n` probes `paceMs` apart. */
  const burst = async (tag: string, n: number, paceMs = 20): Promise<Probe[]> => {
    const probes: Probe[] = [];
    for (let i = 0; i < n; i++) {
      probes.push(publish(`${tag}-${i}`));
      await new Promise((r) => setTimeout(r, paceMs));
    }
    return probes;
  };

  it('in steady state', async () => {
    expect(await late(await burst('steady', 50))).toEqual([]);
  });

  it('right after the sender’s broker was replaced (stopped and started again)', async () => {
    const reconnected = new Promise<void>((resolve) => sender.once('connect', () => resolve()));
    await cluster.restart('broker1');
    await reconnected;
    // The first messages after the replacement are the ones the issue saw arrive a minute late.
    expect(await late(await burst('replaced', 50))).toEqual([]);
    expect(receiverDisconnects).toBe(0);
  });

  it('during and right after a Redis restart (three times)', async () => {
    // Which broker's connections come back first varies from restart to restart; the loss
    // needs the publishing connection back before the other broker's subscriber.
    for (let round = 0; round < 3; round++) {
      const restarted = cluster.restart('redis');
      let done = false;
      void restarted.then(() => (done = true));
      const during: Probe[] = [];
      let i = 0;
      while (!done) {
        during.push(publish(`redis${round}-during-${i++}`));
        await new Promise((r) => setTimeout(r, 20));
      }
      await restarted;
      const after = await burst(`redis${round}-after`, 50);
      expect(await late([...during, ...after]), `restart ${round + 1}`).toEqual([]);
    }
    expect(receiverDisconnects).toBe(0);
  });
});
