/**
 * Test support for the hostile-user suites (issue 14): a signed-in attacker who speaks raw MQTT
 * and forges pairwise envelopes with @sotto/crypto, claiming to be any (user, device). The
 * attacker can do everything a real account can: log in, claim the victim's prekey bundles,
 * run a genuine PQXDH handshake and publish to the victim's inbox (any user may). What it
 * cannot do is sign a device certificate with someone else's UIK — so it signs one with a
 * UIK of its own for the name it claims, which is exactly the forgery the client must refuse.
 */
import {
  decodeDeviceCertificate,
  decodeKemPrekey,
  decodeOneTimePrekey,
  decodeSignedPrekey,
  deviceClientId,
  generateDeviceKeys,
  generateUserIdentity,
  inboxTopic,
  initiateSession,
  issueDeviceCertificate,
  pad,
  type KeyPair,
  type LocalDevice,
  type Session,
} from '@sotto/crypto';
import mqtt from 'mqtt';
import { createHttpClient, type Tokens } from '../../src/http.ts';
import { encodePayload, newMessageId, type Payload, type PayloadInput } from '../../src/payload.ts';

/** What {@link forgeDirect} needs. */
export interface ForgeOptions {
  httpUrl: string;
  mqttUrl: string;
  /** A registered account the attacker controls (signed in here, over HTTP). */
  attacker: { username: string; password: string };
  /** Whose inbox the forged envelopes go to (every device of the victim with keys). */
  victim: string;
  /** The user the envelopes claim to come from. */
  claimAs: string;
  /** The device id they claim (default: a made-up one); a peer's real id is allowed. */
  claimDevice?: string;
  /** UIK the forged certificate is signed with (default: a fresh one). */
  uik?: KeyPair;
}

/** A forged device: its certificate names `claimAs`/`claimDevice`, signed by the attacker's UIK. */
export function forgedDevice(claimAs: string, claimDevice: string, uik?: KeyPair): LocalDevice {
  const keys = generateDeviceKeys();
  const certificate = issueDeviceCertificate(uik ?? generateUserIdentity(), {
    username: claimAs,
    deviceId: claimDevice,
    kind: 'user',
    signingKey: keys.signing.publicKey,
    identityKey: keys.identity.publicKey,
    issuedAt: Date.now(),
  });
  return { certificate, keys };
}

/** Sessions the attacker opened, for follow-up forged RATCHET envelopes. */
export interface Forgery {
  /** One session per victim device, keyed by device id. */
  sessions: Map<string, Session>;
  /** Publish raw bytes to a topic with the attacker's MQTT credentials. */
  publish(topic: string, bytes: Uint8Array): Promise<void>;
  /** Encrypt and publish `input` on every session (the first one is a PREKEY envelope). */
  send(input: PayloadInput | Payload): Promise<Payload>;
  close(): Promise<void>;
}

/**
 * Open forged sessions to every device of `victim`, claiming to be `claimAs`/`claimDevice`:
 * logs the attacker in, claims the victim's bundles with the attacker's token, and connects
 * to the broker as the attacker's device.
 */
export async function openForgery(opts: ForgeOptions): Promise<Forgery> {
  let tokens: Tokens | null = null;
  const http = createHttpClient({ baseUrl: opts.httpUrl, getTokens: () => tokens });
  const login = await http.login(opts.attacker.username, opts.attacker.password);
  tokens = { accessToken: login.accessToken, refreshToken: login.refreshToken };
  const device = forgedDevice(
    opts.claimAs,
    opts.claimDevice ?? `forged${Math.floor(Math.random() * 1e9)}`,
    opts.uik,
  );
  const { devices } = await http.getUser(opts.victim);
  const sessions = new Map<string, Session>();
  for (const d of devices) {
    const b = await http.claimBundle(opts.victim, d.deviceId);
    const bytes = (s: string) => Buffer.from(s, 'base64url');
    sessions.set(
      d.deviceId,
      initiateSession(device, {
        certificate: decodeDeviceCertificate(bytes(b.certificate)),
        signedPrekey: decodeSignedPrekey(bytes(b.signedPrekey)),
        kemPrekey: decodeKemPrekey(bytes(b.kemPrekey)),
        oneTimePrekey: b.oneTimePrekey ? decodeOneTimePrekey(bytes(b.oneTimePrekey)) : undefined,
      }),
    );
  }
  const clientId = deviceClientId(opts.attacker.username, login.deviceId);
  const client = await mqtt.connectAsync(opts.mqttUrl, {
    clientId,
    username: clientId,
    password: login.accessToken,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  const publish = async (topic: string, bytes: Uint8Array): Promise<void> => {
    await client.publishAsync(topic, Buffer.from(bytes), { qos: 1 });
  };
  return {
    sessions,
    publish,
    async send(input) {
      const payload = {
        id: newMessageId(),
        ts: Date.now(),
        ...input,
      };
      const plaintext = pad(encodePayload(payload));
      for (const [deviceId, session] of sessions)
        await publish(inboxTopic(opts.victim, deviceId), session.encrypt(plaintext));
      return payload;
    },
    async close() {
      for (const s of sessions.values()) s.destroy();
      await client.endAsync();
    },
  };
}

/** Forge one DM text "from" `claimAs` to every device of `victim`. */
export async function forgeDirectText(opts: ForgeOptions & { text: string }): Promise<void> {
  const f = await openForgery(opts);
  try {
    await f.send({ kind: 'text', text: opts.text });
  } finally {
    await f.close();
  }
}
