/**
 * Real accounts for the cluster tests: sign up, log in, publish a device
 * certificate (so the user has a UIK on the key server) and create or change
 * groups with genuinely signed membership records from @sotto/crypto.
 * Messages themselves are opaque bytes here: the broker never parses them.
 */
import {
  createChange,
  createGenesis,
  encodeDeviceCertificate,
  encodeKemPrekey,
  encodeMembershipRecord,
  encodeSignedPrekey,
  generateDeviceKeys,
  generateKemPrekey,
  generateSignedPrekey,
  generateUserIdentity,
  issueDeviceCertificate,
  ready,
  toBase64,
  applyMembershipRecord,
  type GroupState,
  type KeyPair,
} from '@sotto/crypto';
import type { MqttClient } from 'mqtt';
import { signupAndLogin, type Login } from '../embedded/helpers.ts';

/** A logged-in device whose user has a published identity key. */
export interface Person extends Login {
  uik: KeyPair;
}

async function api(
  method: string,
  url: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Sign up, log in and upload a device certificate plus the required prekeys. */
export async function createPerson(
  baseUrl: string,
  username: string,
  deviceId = 'd1',
): Promise<Person> {
  await ready();
  const login = await signupAndLogin(baseUrl, username, deviceId);
  const uik = generateUserIdentity();
  const dev = generateDeviceKeys();
  const cert = issueDeviceCertificate(uik, {
    username,
    deviceId,
    kind: 'user',
    signingKey: dev.signing.publicKey,
    identityKey: dev.identity.publicKey,
    issuedAt: Date.now(),
  });
  const spk = generateSignedPrekey(dev.signing, 1, Date.now());
  const kem = generateKemPrekey(dev.signing, 1, true);
  const r = await api('PUT', `${baseUrl}/v1/devices/${deviceId}/keys`, login.accessToken, {
    certificate: toBase64(encodeDeviceCertificate(cert)),
    signedPrekey: toBase64(encodeSignedPrekey(spk.prekey)),
    kemPrekey: toBase64(encodeKemPrekey(kem.prekey)),
    oneTimePrekeys: [],
    oneTimeKemPrekeys: [],
  });
  if (r.status !== 200)
    throw new Error(`key upload for ${username}: ${r.status} ${JSON.stringify(r.json)}`);
  return { ...login, uik };
}

/** Create a group on the key server with `creator` as admin; returns the verified state. */
export async function createGroup(
  baseUrl: string,
  groupId: string,
  creator: Person,
  members: Person[],
): Promise<GroupState> {
  const rec = createGenesis({
    groupId,
    name: groupId,
    creator: { username: creator.username, uik: creator.uik },
    members: members.map((m) => ({ username: m.username, uik: m.uik.publicKey })),
    createdAt: Date.now(),
  });
  const r = await api('POST', `${baseUrl}/v1/groups`, creator.accessToken, {
    record: toBase64(encodeMembershipRecord(rec)),
  });
  if (r.status !== 201) throw new Error(`group create: ${r.status} ${JSON.stringify(r.json)}`);
  return applyMembershipRecord(null, rec);
}

/** Remove `subject` from the group (signed by admin `actor`); returns the new state. */
export async function removeMember(
  baseUrl: string,
  state: GroupState,
  actor: Person,
  subject: Person,
): Promise<GroupState> {
  const rec = createChange(state, {
    actor: { username: actor.username, uik: actor.uik },
    op: 'remove',
    subject: { username: subject.username, uik: subject.uik.publicKey },
    createdAt: Date.now(),
  });
  const r = await api('POST', `${baseUrl}/v1/groups/${state.groupId}/changes`, actor.accessToken, {
    record: toBase64(encodeMembershipRecord(rec)),
  });
  if (r.status !== 200 && r.status !== 201)
    throw new Error(`group change: ${r.status} ${JSON.stringify(r.json)}`);
  return applyMembershipRecord(state, rec);
}

/** A message body that carries its own id (the tests count ids, not bytes). */
export function tagged(id: string, size = 64): Buffer {
  const head = Buffer.from(`${id}|`);
  return Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length), 0xa5)]);
}

/** The id a {@link tagged} body carries. */
export function idOf(payload: Buffer): string {
  const i = payload.indexOf(0x7c);
  return payload.subarray(0, i).toString();
}

/** Resolve `p`, or `fallback` after `ms` (a refused MQTT operation may never settle). */
export function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return Promise.race([p, new Promise<T>((r) => setTimeout(() => r(fallback), ms))]);
}

/**
 * The reliability contract of DESIGN.md §5.1 in miniature, over raw mqtt.js:
 * the sender keeps every message in an outbox until the receiver's receipt
 * comes back and re-sends what is still unreceipted; the receiver answers each
 * message with a receipt and de-duplicates by id. (The client engine does the
 * same with encrypted `delivered` receipts.)
 */
export class ReliableDm {
  /** Ids the sender has handed to the outbox. */
  readonly sent = new Set<string>();
  /** Ids whose receipt came back (removed from the outbox). */
  readonly receipted = new Set<string>();
  /** Raw arrivals per id at the receiver (> 1 = transport redelivery). */
  readonly arrivals = new Map<string, number>();
  /** Messages the outbox had to send more than once. */
  resends = 0;
  private readonly outbox = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sender: MqttClient,
    private readonly receiver: MqttClient,
    private readonly senderInbox: string,
    private readonly receiverInbox: string,
    private readonly resendAfterMs = 2_000,
  ) {
    receiver.on('message', (topic, payload) => {
      if (topic !== receiverInbox) return;
      const id = idOf(payload);
      this.arrivals.set(id, (this.arrivals.get(id) ?? 0) + 1);
      void receiver
        .publishAsync(senderInbox, tagged(`rcpt:${id}`, 32), { qos: 1 })
        .catch(() => undefined);
    });
    sender.on('message', (topic, payload) => {
      if (topic !== senderInbox) return;
      const id = idOf(payload);
      if (!id.startsWith('rcpt:')) return;
      const of = id.slice(5);
      this.outbox.delete(of);
      this.receipted.add(of);
    });
  }

  /** Subscribe both inboxes (QoS 1) and start the re-send timer. */
  async start(): Promise<void> {
    await this.receiver.subscribeAsync(this.receiverInbox, { qos: 1 });
    await this.sender.subscribeAsync(this.senderInbox, { qos: 1 });
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const [id, at] of this.outbox) {
        if (now - at < this.resendAfterMs || !this.sender.connected) continue;
        this.outbox.set(id, now);
        this.resends++;
        void this.sender
          .publishAsync(this.receiverInbox, tagged(id), { qos: 1 })
          .catch(() => undefined);
      }
    }, 250);
  }

  /** Put a message in the outbox and send it. */
  send(id: string): void {
    this.sent.add(id);
    this.outbox.set(id, Date.now());
    void this.sender
      .publishAsync(this.receiverInbox, tagged(id), { qos: 1 })
      .catch(() => undefined);
  }

  /** Messages still waiting for their receipt. */
  pending(): number {
    return this.outbox.size;
  }

  /** Ids shown to the user: each arrival de-duplicated by id. */
  shown(): Set<string> {
    return new Set(this.arrivals.keys());
  }

  /** Transport-level duplicates (QoS 1 redeliveries plus outbox re-sends that both arrived). */
  duplicates(): number {
    let n = 0;
    for (const c of this.arrivals.values()) n += c - 1;
    return n;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
