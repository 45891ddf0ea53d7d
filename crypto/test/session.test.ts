import { beforeAll, describe, expect, it } from 'vitest';
import { ready, sodium } from '../src/sodium.ts';
import { encodeDeviceCertificate } from '../src/identity.ts';
import { equalBytes, fromHex, toHex } from '../src/bytes.ts';
import { EnvelopeType } from '../src/envelope.ts';
import { createSenderKey, groupEncrypt } from '../src/senderkeys.ts';
import {
  decodePrekeyBundle,
  encodeKemPrekey,
  encodeOneTimePrekey,
  encodeSignedPrekey,
  generateSignedPrekey,
  type PrekeyBundle,
} from '../src/prekeys.ts';
import { sign } from '../src/internal/ed25519.ts';
import { PREKEY_DOMAINS, spkTbs } from '../src/internal/prekey-wire.ts';
import {
  MAX_SKIP,
  MAX_SKIPPED_KEYS,
  Session,
  acceptSession,
  initiateSession,
  peekEnvelope,
  peekPairwiseEnvelope,
} from '../src/session.ts';
import { codeOf, makeDevice, shuffled, text, untext } from './support/core-fixtures.ts';

beforeAll(async () => {
  await ready();
});

/** Alice and Bob with an established session (Bob has replied once). */
function establish(withOneTime = true) {
  const alice = makeDevice('alice', 'laptop');
  const bob = makeDevice('bob', 'phone');
  const a = initiateSession(alice, bob.bundle(withOneTime), {
    expected: { uik: bob.uik.publicKey, username: 'bob', deviceId: 'phone' },
  });
  const first = a.encrypt(text('hello bob'));
  const accepted = acceptSession(bob, bob.secrets, first, {
    expected: { uik: alice.uik.publicKey },
  });
  const b = accepted.session;
  expect(untext(a.decrypt(b.encrypt(text('hello alice'))))).toBe('hello alice');
  return { alice, bob, a, b, accepted };
}

/** A bundle in the encodings the key server serves. */
function encoded(b: PrekeyBundle) {
  return {
    certificate: encodeDeviceCertificate(b.certificate),
    signedPrekey: encodeSignedPrekey(b.signedPrekey),
    kemPrekey: encodeKemPrekey(b.kemPrekey),
    oneTimePrekey: b.oneTimePrekey ? encodeOneTimePrekey(b.oneTimePrekey) : null,
  };
}

/** Throws if `fn` changes the serialized state of `s`. */
function expectUnchanged(s: Session, fn: () => void): void {
  const before = s.serialize();
  fn();
  expect(toHex(s.serialize())).toBe(toHex(before));
}

describe('pairwise session setup (PQXDH)', () => {
  it('delivers the first message in a PREKEY envelope and replies in RATCHET envelopes', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const a = initiateSession(alice, bob.bundle(), { expected: { uik: bob.uik.publicKey } });
    expect(a.established).toBe(false);
    const env = a.encrypt(text('hi'));
    expect(env[1]).toBe(EnvelopeType.PREKEY);
    const {
      session: b,
      plaintext,
      consumed,
      carriesSenderKey,
    } = acceptSession(bob, bob.secrets, env);
    expect(untext(plaintext)).toBe('hi');
    expect(carriesSenderKey).toBe(false);
    expect(consumed).toEqual({ oneTimePrekeyId: 1, kemPrekeyId: 1 });
    const reply = b.encrypt(text('hey'));
    expect(reply[1]).toBe(EnvelopeType.RATCHET);
    expect(untext(a.decrypt(reply))).toBe('hey');
    expect(a.established).toBe(true);
    const next = a.encrypt(text('now ratchet'));
    expect(next[1]).toBe(EnvelopeType.RATCHET);
    expect(untext(b.decrypt(next))).toBe('now ratchet');
  });

  it('exposes the verified remote device certificate and both addresses', () => {
    const { alice, bob, a, b } = establish();
    expect(a.remoteCertificate).toEqual(bob.certificate);
    expect(b.remoteCertificate).toEqual(alice.certificate);
    expect(a.remoteAddress).toEqual({ username: 'bob', deviceId: 'phone' });
    expect(b.localAddress).toEqual({ username: 'bob', deviceId: 'phone' });
    expect(a.role).toBe('initiator');
    expect(b.role).toBe('responder');
  });

  it('keeps sending PREKEY envelopes until the first reply, and the responder decrypts them all', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const a = initiateSession(alice, bob.bundle());
    const envs = [a.encrypt(text('1')), a.encrypt(text('2')), a.encrypt(text('3'))];
    for (const e of envs) expect(e[1]).toBe(EnvelopeType.PREKEY);
    const { session: b, consumed } = acceptSession(bob, bob.secrets, envs[0]!);
    bob.held.oneTime.delete(consumed.oneTimePrekeyId!);
    expect(untext(b.decrypt(envs[2]!))).toBe('3');
    expect(untext(b.decrypt(envs[1]!))).toBe('2');
    // A second acceptSession for the same handshake fails: the one-time prekey is gone.
    expect(codeOf(() => acceptSession(bob, bob.secrets, envs[1]!))).toBe('PREKEY_NOT_FOUND');
  });

  it('falls back to the last-resort KEM prekey without a one-time prekey and reports nothing to delete', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const a = initiateSession(alice, bob.bundle(false));
    const env = a.encrypt(text('no otk'));
    expect(peekPairwiseEnvelope(env).prekeyIds).toEqual({
      signedPrekeyId: 1,
      kemPrekeyId: 1000,
      oneTimePrekeyId: null,
    });
    const { plaintext, consumed } = acceptSession(bob, bob.secrets, env);
    expect(untext(plaintext)).toBe('no otk');
    expect(consumed).toEqual({ oneTimePrekeyId: null, kemPrekeyId: null });
  });

  it('rejects a forged prekey bundle before any handshake', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const mallory = makeDevice('bob', 'phone');
    // Mallory's bundle presented as Bob's: wrong UIK.
    expect(
      codeOf(() =>
        initiateSession(alice, mallory.bundle(), { expected: { uik: bob.uik.publicKey } }),
      ),
    ).toBe('BAD_CERTIFICATE');
    // Bob's certificate with Mallory's signed prekey.
    const forged = bob.bundle();
    forged.signedPrekey = generateSignedPrekey(mallory.keys.signing, 1, 0).prekey;
    expect(
      codeOf(() => initiateSession(alice, forged, { expected: { uik: bob.uik.publicKey } })),
    ).toBe('BAD_SIGNATURE');
  });

  it('rejects an unsigned prekey bundle', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const unsigned = bob.bundle();
    unsigned.signedPrekey = { ...unsigned.signedPrekey, signature: new Uint8Array(64) };
    expect(codeOf(() => initiateSession(alice, unsigned))).toBe('BAD_SIGNATURE');
    const unsignedKem = bob.bundle();
    unsignedKem.kemPrekey = { ...unsignedKem.kemPrekey, signature: new Uint8Array(0) };
    expect(codeOf(() => initiateSession(alice, unsignedKem))).toBe('BAD_SIGNATURE');
  });

  it('rejects a bundle whose one-time prekey is a low-order point', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const bundle = bob.bundle();
    bundle.oneTimePrekey = {
      id: 9,
      publicKey: fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'),
    };
    expect(codeOf(() => initiateSession(alice, bundle))).toBe('INVALID_KEY');
  });

  it('starts a session from a bundle as served (decodePrekeyBundle), with or without a one-time prekey', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    for (const withOneTime of [true, false]) {
      const served = decodePrekeyBundle(encoded(bob.bundle(withOneTime)));
      const a = initiateSession(alice, served, {
        expected: { uik: bob.uik.publicKey, username: 'bob', deviceId: 'phone' },
      });
      const accepted = acceptSession(bob, bob.secrets, a.encrypt(text('served')));
      expect(untext(accepted.plaintext)).toBe('served');
    }
  });

  it('refuses served prekeys that are not valid X25519 keys, even with a valid signature', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const order8 = fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800');
    // u = 2 is on the twist: u^3 + A u^2 + u is not a square.
    const twist = new Uint8Array(32);
    twist[0] = 2;
    for (const bad of [order8, twist]) {
      const signature = sign(
        bob.keys.signing.secretKey,
        PREKEY_DOMAINS.signedPrekey,
        spkTbs(7, 0, bad),
      );
      const spk = { id: 7, createdAt: 0, publicKey: bad, signature };
      const withSpk = { ...encoded(bob.bundle()), signedPrekey: encodeSignedPrekey(spk) };
      expect(codeOf(() => initiateSession(alice, decodePrekeyBundle(withSpk)))).toBe('INVALID_KEY');
      const withOtk = {
        ...encoded(bob.bundle()),
        oneTimePrekey: encodeOneTimePrekey({ id: 9, publicKey: bad }),
      };
      expect(codeOf(() => initiateSession(alice, decodePrekeyBundle(withOtk)))).toBe('INVALID_KEY');
    }
  });

  it('lets the responder pin the initiator’s user identity key', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const env = initiateSession(alice, bob.bundle()).encrypt(text('x'));
    const stranger = makeDevice('alice', 'laptop');
    expect(
      codeOf(() =>
        acceptSession(bob, bob.secrets, env, { expected: { uik: stranger.uik.publicKey } }),
      ),
    ).toBe('BAD_CERTIFICATE');
  });

  it('rejects a PREKEY envelope whose sender address differs from the certificate inside it', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const env = initiateSession(alice, bob.bundle()).encrypt(text('x'));
    const spoofed = env.slice();
    // Sender username starts after version, type and its length byte: "alice" → "carol".
    spoofed.set(text('carol'), 3);
    expect(peekPairwiseEnvelope(spoofed).sender.username).toBe('carol');
    expect(codeOf(() => acceptSession(bob, bob.secrets, spoofed))).toBe('BAD_CERTIFICATE');
  });

  it('refuses to start a session with the local device itself', () => {
    const alice = makeDevice('alice', 'laptop');
    expect(() => initiateSession(alice, alice.bundle())).toThrow(TypeError);
  });

  it('reports a missing prekey as PREKEY_NOT_FOUND', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const env = initiateSession(alice, bob.bundle()).encrypt(text('x'));
    bob.held.oneTime.clear();
    expect(codeOf(() => acceptSession(bob, bob.secrets, env))).toBe('PREKEY_NOT_FOUND');
    bob.held.signed.clear();
    expect(codeOf(() => acceptSession(bob, bob.secrets, env))).toBe('PREKEY_NOT_FOUND');
  });

  it('fails a PREKEY envelope meant for another device of the same user', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const bob2 = makeDevice('bob', 'tablet');
    const env = initiateSession(alice, bob.bundle()).encrypt(text('x'));
    // bob2 holds different secrets under the same ids.
    bob2.bundle();
    expect(codeOf(() => acceptSession(bob2, bob2.secrets, env))).toBe('DECRYPT_FAILED');
  });
});

describe('Double Ratchet messaging', () => {
  it('round-trips long conversations in both directions', () => {
    const { a, b } = establish();
    for (let i = 0; i < 20; i++) {
      const [from, to] = i % 3 === 0 ? [b, a] : [a, b];
      const msg = `message ${i}`;
      expect(untext(to.decrypt(from.encrypt(text(msg))))).toBe(msg);
    }
  });

  it('decrypts 100 messages delivered in random order across several ratchet steps', () => {
    const { a, b } = establish();
    const envs: { env: Uint8Array; body: string }[] = [];
    // Bursts from Alice interleaved with Bob's replies, so the envelopes span several chains.
    for (let burst = 0; burst < 4; burst++) {
      for (let i = 0; i < 25; i++) {
        const body = `burst ${burst} msg ${i}`;
        envs.push({ env: a.encrypt(text(body)), body });
      }
      // Bob must learn Alice's newest key before he can reply on a new chain;
      // deliver the last message of the burst first to him, then let him answer.
      const last = envs[envs.length - 1]!;
      expect(untext(b.decrypt(last.env))).toBe(last.body);
      expect(untext(a.decrypt(b.encrypt(text(`ack ${burst}`))))).toBe(`ack ${burst}`);
    }
    const lasts = new Set([24, 49, 74, 99]);
    const rest = envs.filter((_, i) => !lasts.has(i));
    for (const { env, body } of shuffled(rest, 42)) expect(untext(b.decrypt(env))).toBe(body);
    expect(rest.length + lasts.size).toBe(100);
  });

  it('rejects a duplicate on the current chain, from the skipped store, and on an earlier chain', () => {
    const { a, b } = establish();
    const m0 = a.encrypt(text('m0'));
    const m1 = a.encrypt(text('m1'));
    const m2 = a.encrypt(text('m2'));
    b.decrypt(m0);
    b.decrypt(m2); // m1 becomes a skipped key
    expect(codeOf(() => b.decrypt(m0))).toBe('DUPLICATE_MESSAGE');
    expect(codeOf(() => b.decrypt(m2))).toBe('DUPLICATE_MESSAGE');
    expect(untext(b.decrypt(m1))).toBe('m1');
    expect(codeOf(() => b.decrypt(m1))).toBe('DUPLICATE_MESSAGE');
    // Move to new chains on both sides; the old chain's messages stay refused.
    a.decrypt(b.encrypt(text('turn')));
    b.decrypt(a.encrypt(text('new chain')));
    expect(codeOf(() => b.decrypt(m0))).toBe('DUPLICATE_MESSAGE');
  });

  it('refuses a gap over the skip limit and still decrypts the messages inside the limit', () => {
    const { a, b } = establish();
    const envs: Uint8Array[] = [];
    for (let i = 0; i <= MAX_SKIP + 1; i++) envs.push(a.encrypt(text(`m${i}`)));
    expectUnchanged(b, () =>
      expect(codeOf(() => b.decrypt(envs[MAX_SKIP + 1]!))).toBe('TOO_MANY_SKIPPED'),
    );
    expect(untext(b.decrypt(envs[MAX_SKIP]!))).toBe(`m${MAX_SKIP}`);
    expect(untext(b.decrypt(envs[0]!))).toBe('m0');
    expect(untext(b.decrypt(envs[MAX_SKIP + 1]!))).toBe(`m${MAX_SKIP + 1}`);
  });

  it('refuses a new chain whose previous-chain length would skip too many keys', () => {
    const { a, b } = establish();
    for (let i = 0; i <= MAX_SKIP + 1; i++) a.encrypt(text('lost'));
    const reply = b.encrypt(text('r'));
    a.decrypt(reply);
    const next = a.encrypt(text('new chain with pn over the limit'));
    expectUnchanged(b, () => expect(codeOf(() => b.decrypt(next))).toBe('TOO_MANY_SKIPPED'));
  });

  it('stores at most MAX_SKIPPED_KEYS skipped keys and evicts the oldest first', () => {
    const { a, b } = establish();
    const firsts: Uint8Array[] = [];
    for (let round = 0; round < 3; round++) {
      let env = a.encrypt(text(`r${round} first`));
      firsts.push(env);
      for (let i = 1; i <= MAX_SKIP; i++) env = a.encrypt(text(`r${round} m${i}`));
      b.decrypt(env); // skips MAX_SKIP - 1 + 1 keys of this chain (counter 0 … 999)
      a.decrypt(b.encrypt(text(`ack ${round}`)));
    }
    expect(3 * MAX_SKIP).toBeGreaterThan(MAX_SKIPPED_KEYS);
    // Round 0's keys were evicted; rounds 1 and 2 are still there.
    expect(codeOf(() => b.decrypt(firsts[0]!))).toBe('DUPLICATE_MESSAGE');
    expect(untext(b.decrypt(firsts[1]!))).toBe('r1 first');
    expect(untext(b.decrypt(firsts[2]!))).toBe('r2 first');
  });

  it('cannot decrypt a message twice, not even from the state saved after decrypting it (forward secrecy)', () => {
    const { a, b } = establish();
    const m = a.encrypt(text('read once'));
    const skipped = a.encrypt(text('later'));
    const after = a.encrypt(text('after'));
    expect(untext(b.decrypt(after))).toBe('after');
    expect(untext(b.decrypt(m))).toBe('read once');
    const saved = b.serialize();
    const restored = Session.deserialize(saved);
    expect(codeOf(() => restored.decrypt(m))).toBe('DUPLICATE_MESSAGE');
    expect(codeOf(() => restored.decrypt(after))).toBe('DUPLICATE_MESSAGE');
    expect(untext(restored.decrypt(skipped))).toBe('later');
    // The saved bytes hold no key for the messages already read: the message key is gone.
    expect(codeOf(() => Session.deserialize(saved).decrypt(m))).toBe('DUPLICATE_MESSAGE');
  });

  it('recovers from a state compromise after one round trip (post-compromise security)', () => {
    const { a, b } = establish();
    const stolen = Session.deserialize(a.serialize());
    // The attacker sees all traffic and can follow along until the ratchet turns.
    const m1 = a.encrypt(text('before'));
    b.decrypt(m1);
    const m2 = b.encrypt(text('bob reply'));
    expect(untext(stolen.decrypt(m2))).toBe('bob reply');
    expect(untext(a.decrypt(m2))).toBe('bob reply');
    const m3 = a.encrypt(text('alice with a fresh ratchet key'));
    expect(untext(b.decrypt(m3))).toBe('alice with a fresh ratchet key');
    const m4 = b.encrypt(text('secret after recovery'));
    expect(untext(a.decrypt(m4))).toBe('secret after recovery');
    expect(codeOf(() => stolen.decrypt(m4))).toBe('DECRYPT_FAILED');
    const m5 = b.encrypt(text('still secret'));
    expect(codeOf(() => stolen.decrypt(m5))).toBe('DECRYPT_FAILED');
    expect(untext(a.decrypt(m5))).toBe('still secret');
  });

  it('continues a conversation after serialize and deserialize mid-conversation, skipped keys included', () => {
    const { a, b } = establish();
    const pending = [a.encrypt(text('p0')), a.encrypt(text('p1'))];
    const later = a.encrypt(text('p2'));
    b.decrypt(later);
    const a2 = Session.deserialize(a.serialize());
    const b2 = Session.deserialize(b.serialize());
    expect(b2.remoteCertificate).toEqual(b.remoteCertificate);
    expect(untext(b2.decrypt(pending[1]!))).toBe('p1');
    expect(untext(a2.decrypt(b2.encrypt(text('from restored bob'))))).toBe('from restored bob');
    expect(untext(b2.decrypt(a2.encrypt(text('from restored alice'))))).toBe('from restored alice');
    expect(untext(b2.decrypt(pending[0]!))).toBe('p0');
  });

  it('keeps the initiator’s pending handshake across serialization', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const a = Session.deserialize(initiateSession(alice, bob.bundle()).serialize());
    expect(a.established).toBe(false);
    const env = a.encrypt(text('after restart'));
    expect(env[1]).toBe(EnvelopeType.PREKEY);
    expect(untext(acceptSession(bob, bob.secrets, env).plaintext)).toBe('after restart');
  });

  it('rejects serialized state that is truncated, extended or of another version', () => {
    const { a } = establish();
    const bytes = a.serialize();
    expect(codeOf(() => Session.deserialize(bytes.subarray(0, bytes.length - 1)))).toBe(
      'MALFORMED',
    );
    expect(codeOf(() => Session.deserialize(new Uint8Array([...bytes, 0])))).toBe('MALFORMED');
    const v = bytes.slice();
    v[0] = 9;
    expect(codeOf(() => Session.deserialize(v))).toBe('UNSUPPORTED_VERSION');
  });
});

describe('tampering and misrouting', () => {
  it('fails cleanly on every single-byte change of a RATCHET envelope, leaving the state unchanged', () => {
    const { a, b } = establish();
    const env = a.encrypt(text('tamper with me'));
    for (let i = 0; i < env.length; i++) {
      const t = env.slice();
      t[i]! ^= 0x01 << (i % 8);
      expectUnchanged(b, () => {
        const code = codeOf(() => b.decrypt(t));
        expect(code, `byte ${i}`).toMatch(/^[A-Z_]+$/);
      });
    }
    expect(untext(b.decrypt(env))).toBe('tamper with me');
  });

  it('fails cleanly on every single-byte change of a PREKEY envelope, then accepts the original', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const a = initiateSession(alice, bob.bundle());
    const env = a.encrypt(text('first'));
    const second = a.encrypt(text('second'));
    const heldBefore = [bob.held.oneTime.size, bob.held.kem.size, bob.held.signed.size];
    // Every byte outside the 1120-byte X-Wing ciphertext, every 16th inside it
    // (each attempt costs a full handshake; X-Wing's implicit rejection makes
    // every ciphertext byte behave alike).
    const certLength = encodeDeviceCertificate(alice.certificate).length;
    const kemStart = 2 + 6 + 7 + 1 + 2 + certLength + 4 + 4 + 1 + 4 + 32;
    const kemEnd = kemStart + sodium().crypto_kem_xwing_CIPHERTEXTBYTES;
    for (let i = 0; i < env.length; i++) {
      if (i >= kemStart && i < kemEnd && (i - kemStart) % 16 !== 0) continue;
      const t = env.slice();
      t[i]! ^= 0x80;
      const code = codeOf(() => acceptSession(bob, bob.secrets, t));
      expect(code, `byte ${i}`).toMatch(/^[A-Z_]+$/);
    }
    expect([bob.held.oneTime.size, bob.held.kem.size, bob.held.signed.size]).toEqual(heldBefore);
    const { session: b } = acceptSession(bob, bob.secrets, env);
    // A repeated PREKEY envelope on the established responder session: tampering leaves it unchanged.
    for (let i = 0; i < second.length; i += 7) {
      const t = second.slice();
      t[i]! ^= 0x04;
      expectUnchanged(b, () => expect(codeOf(() => b.decrypt(t))).toMatch(/^[A-Z_]+$/));
    }
    expect(untext(b.decrypt(second))).toBe('second');
  });

  it('binds the envelope type: a RATCHET envelope relabelled SENDER_KEY does not decrypt', () => {
    const { a, b } = establish();
    const env = a.encrypt(text('typed'));
    const relabelled = env.slice();
    relabelled[1] = EnvelopeType.SENDER_KEY;
    expectUnchanged(b, () => expect(codeOf(() => b.decrypt(relabelled))).toBe('DECRYPT_FAILED'));
    expect(untext(b.decrypt(env))).toBe('typed');
  });

  it('sends sender-key distributions as SENDER_KEY envelopes and flags them, also inside PREKEY', () => {
    const alice = makeDevice('alice', 'laptop');
    const bob = makeDevice('bob', 'phone');
    const a = initiateSession(alice, bob.bundle());
    const first = a.encrypt(text('skd'), { senderKey: true });
    expect(first[1]).toBe(EnvelopeType.PREKEY);
    expect(peekPairwiseEnvelope(first).carriesSenderKey).toBe(true);
    const { session: b, carriesSenderKey } = acceptSession(bob, bob.secrets, first);
    expect(carriesSenderKey).toBe(true);
    a.decrypt(b.encrypt(text('ok')));
    const skd = a.encrypt(text('skd 2'), { senderKey: true });
    expect(skd[1]).toBe(EnvelopeType.SENDER_KEY);
    expect(peekPairwiseEnvelope(skd)).toEqual({
      type: EnvelopeType.SENDER_KEY,
      sender: { username: 'alice', deviceId: 'laptop' },
      carriesSenderKey: true,
    });
    expect(untext(b.decrypt(skd))).toBe('skd 2');
  });

  it('refuses a GROUP envelope on the pairwise path, while peekEnvelope still names its sender', () => {
    const { b } = establish();
    const { state } = createSenderKey({
      groupId: 'g1',
      username: 'alice',
      deviceId: 'laptop',
      now: 0,
    });
    const group = groupEncrypt(state, text('to the group'));
    expectUnchanged(b, () => expect(codeOf(() => b.decrypt(group))).toBe('UNKNOWN_TYPE'));
    expect(codeOf(() => peekPairwiseEnvelope(group))).toBe('UNKNOWN_TYPE');
    expect(peekEnvelope(group)).toEqual({
      type: EnvelopeType.GROUP,
      sender: { username: 'alice', deviceId: 'laptop' },
    });
    // A GROUP-typed frame around pairwise bytes is not accepted either.
    const relabelled = b.encrypt(text('x'));
    relabelled[1] = EnvelopeType.GROUP;
    expect(codeOf(() => peekEnvelope(relabelled))).toMatch(/^[A-Z_]+$/);
  });

  it('routes by the sender address in the envelope and refuses envelopes from another peer', () => {
    const { a, b } = establish();
    const carol = makeDevice('carol', 'desktop');
    const bob = makeDevice('bob', 'phone');
    const c = initiateSession(carol, bob.bundle());
    const fromCarol = c.encrypt(text('hi'));
    expect(peekEnvelope(fromCarol)).toEqual({
      type: EnvelopeType.PREKEY,
      sender: { username: 'carol', deviceId: 'desktop' },
    });
    expectUnchanged(b, () => expect(codeOf(() => b.decrypt(fromCarol))).toBe('NO_SESSION'));
    const fromAlice = a.encrypt(text('x'));
    expect(peekEnvelope(fromAlice).sender).toEqual({ username: 'alice', deviceId: 'laptop' });
  });

  it('refuses a RATCHET envelope whose ratchet key is a low-order point without changing state', () => {
    const { a, b } = establish();
    a.decrypt(b.encrypt(text('turn')));
    const env = a.encrypt(text('x'));
    const t = env.slice();
    // Sender address: string8 "alice" (6 bytes) + string8 "laptop" (7 bytes) after the 2-byte frame.
    const dhOffset = 2 + 6 + 7;
    t.set(new Uint8Array(32), dhOffset);
    t[dhOffset] = 1;
    expectUnchanged(b, () => expect(codeOf(() => b.decrypt(t))).toBe('INVALID_KEY'));
    expect(untext(b.decrypt(env))).toBe('x');
  });

  it('produces different ciphertexts for the same plaintext', () => {
    const { a } = establish();
    const x = a.encrypt(text('same'));
    const y = a.encrypt(text('same'));
    expect(equalBytes(x, y)).toBe(false);
  });
});
