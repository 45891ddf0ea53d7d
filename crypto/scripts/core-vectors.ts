/**
 * Known-answer vectors of the crypto core (PROTOCOL.md §2–4, §6), computed
 * from fixed seeds. `generate-vectors.ts` writes them to
 * `test/vectors/core.json`; `test/kat.test.ts` recomputes them and compares, so
 * any change of a byte format, label or derivation shows up as a diff.
 */
import { fromUtf8, toHex, utf8 } from '../src/bytes.ts';
import { chainStep, kdf, LABELS } from '../src/kdf.ts';
import { sodium } from '../src/sodium.ts';
import {
  encodeDeviceCertificate,
  generateDeviceKeys,
  generateUserIdentity,
  issueDeviceCertificate,
} from '../src/identity.ts';
import {
  encodeKemPrekey,
  encodeOneTimePrekey,
  encodeSignedPrekey,
  generateKemPrekey,
  generateOneTimePrekey,
  generateSignedPrekey,
} from '../src/prekeys.ts';
import {
  acceptSession,
  initiateSession,
  type LocalDevice,
  type RandomSource,
} from '../src/session.ts';
import { messageKeys, rootStep } from '../src/internal/ratchet.ts';
import {
  agreeAsInitiator,
  agreeAsResponder,
  sessionAssociatedData,
} from '../src/internal/pqxdh.ts';
import { generateX25519KeyPair, x25519 } from '../src/internal/x25519.ts';

/** 32-byte seed derived from a label: BLAKE2b-256("Sotto KAT " ‖ label). */
export function katSeed(label: string, length = 32): Uint8Array {
  return sodium().crypto_generichash(length, utf8(`Sotto KAT ${label}`), null);
}

/** Deterministic random source: call i returns randombytes_buf_deterministic(len, katSeed(label/i)). */
export function katRandom(label: string): RandomSource {
  let counter = 0;
  return (length) =>
    sodium().randombytes_buf_deterministic(length, katSeed(`${label}/${counter++}`));
}

const ISSUED_AT = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const hex = toHex;

function device(name: string, deviceId: string): LocalDevice & { uikPublic: Uint8Array } {
  const uik = generateUserIdentity(katSeed(`${name} uik`));
  const keys = generateDeviceKeys({
    signing: katSeed(`${name} signing`),
    identity: katSeed(`${name} identity`),
  });
  const certificate = issueDeviceCertificate(uik, {
    username: name,
    deviceId,
    kind: 'user',
    signingKey: keys.signing.publicKey,
    identityKey: keys.identity.publicKey,
    issuedAt: ISSUED_AT,
  });
  return { certificate, keys, uikPublic: uik.publicKey };
}

/** Every vector, as plain JSON (hex strings). */
export function computeCoreVectors(): Record<string, unknown> {
  const s = sodium();

  const kdfCases = [
    { ikm: hex(katSeed('kdf ikm 1')), salt: null, label: LABELS.handshake, length: 32, info: '' },
    {
      ikm: hex(katSeed('kdf ikm 2')),
      salt: hex(katSeed('kdf salt 2')),
      label: LABELS.ratchetRoot,
      length: 64,
      info: '',
    },
    {
      ikm: hex(katSeed('kdf ikm 3')),
      salt: null,
      label: LABELS.messageKeys,
      length: 56,
      info: hex(katSeed('kdf info 3')),
    },
    {
      ikm: '',
      salt: hex(katSeed('kdf salt 4', 64)),
      label: 'Sotto_v1_Test',
      length: 200,
      info: '',
    },
  ].map((c) => ({
    ...c,
    okm: hex(
      kdf(
        s.from_hex(c.ikm),
        c.salt === null ? null : s.from_hex(c.salt),
        c.label,
        c.length,
        s.from_hex(c.info),
      ),
    ),
  }));

  const ck0 = katSeed('chain key');
  const steps: { messageKey: string; nextChainKey: string }[] = [];
  let ck = ck0;
  for (let i = 0; i < 3; i++) {
    const st = chainStep(ck);
    steps.push({ messageKey: hex(st.messageKey), nextChainKey: hex(st.nextChainKey) });
    ck = st.nextChainKey;
  }

  const rk = katSeed('root key');
  const dhOut = katSeed('dh output');
  const root = rootStep(rk, dhOut);
  const mk = katSeed('message key');
  const mks = messageKeys(mk);

  const dhA = generateX25519KeyPair(katSeed('x25519 a'));
  const dhB = generateX25519KeyPair(katSeed('x25519 b'));

  // Devices, certificates and prekeys from seeds.
  const alice = device('alice', 'laptop');
  const bob = device('bob', 'phone');
  const spk = generateSignedPrekey(bob.keys.signing, 1, ISSUED_AT, katSeed('bob spk'));
  const kem = generateKemPrekey(bob.keys.signing, 2, false, katSeed('bob kem'));
  const otk = generateOneTimePrekey(3, katSeed('bob otk'));

  // Handshake from fixed ephemeral and encapsulation seeds.
  const aliceCert = encodeDeviceCertificate(alice.certificate);
  const bobCert = encodeDeviceCertificate(bob.certificate);
  const ad = sessionAssociatedData(aliceCert, bobCert);
  const ephemeral = generateX25519KeyPair(katSeed('alice ephemeral'));
  const kemSeed = katSeed('alice kem encapsulation', 64);
  const initiator = agreeAsInitiator({
    identitySecret: alice.keys.identity.secretKey,
    ephemeralSecret: ephemeral.secretKey,
    remoteIdentityKey: bob.keys.identity.publicKey,
    remoteSignedPrekey: spk.prekey.publicKey,
    remoteOneTimePrekey: otk.prekey.publicKey,
    remoteKemPrekey: kem.prekey.publicKey,
    kemSeed,
    ad,
  });
  const responderSk = agreeAsResponder({
    identitySecret: bob.keys.identity.secretKey,
    signedPrekeySecret: spk.secretKey,
    oneTimePrekeySecret: otk.secretKey,
    kemPrekeySecret: kem.secretKey,
    remoteIdentityKey: alice.keys.identity.publicKey,
    remoteEphemeralKey: ephemeral.publicKey,
    kemCiphertext: initiator.kemCiphertext,
    ad,
  });
  if (hex(responderSk) !== hex(initiator.sk)) throw new Error('handshake sides disagree');

  // A short conversation with deterministic ephemeral, KEM and ratchet keys.
  const a = initiateSession(
    alice,
    {
      certificate: bob.certificate,
      signedPrekey: spk.prekey,
      kemPrekey: kem.prekey,
      oneTimePrekey: otk.prekey,
    },
    { expected: { uik: bob.uikPublic }, random: katRandom('alice session') },
  );
  const transcript: { from: string; plaintext: string; envelope: string }[] = [];
  const send = (from: 'alice' | 'bob', text: string, env: Uint8Array) => {
    transcript.push({ from, plaintext: text, envelope: hex(env) });
    return env;
  };
  const first = send('alice', 'hello bob', a.encrypt(utf8('hello bob')));
  const accepted = acceptSession(
    bob,
    {
      signedPrekey: (id) => (id === 1 ? spk.secretKey : undefined),
      kemPrekey: (id) => (id === 2 ? { secretKey: kem.secretKey, lastResort: false } : undefined),
      oneTimePrekey: (id) => (id === 3 ? otk.secretKey : undefined),
    },
    first,
    { expected: { uik: alice.uikPublic }, random: katRandom('bob session') },
  );
  const b = accepted.session;
  const check = (got: Uint8Array, want: string) => {
    if (fromUtf8(got) !== want) throw new Error(`transcript mismatch: ${want}`);
  };
  check(accepted.plaintext, 'hello bob');
  check(
    b.decrypt(send('alice', 'second prekey message', a.encrypt(utf8('second prekey message')))),
    'second prekey message',
  );
  check(a.decrypt(send('bob', 'hello alice', b.encrypt(utf8('hello alice')))), 'hello alice');
  check(b.decrypt(send('alice', 'ratchet 1', a.encrypt(utf8('ratchet 1')))), 'ratchet 1');
  check(b.decrypt(send('alice', 'ratchet 2', a.encrypt(utf8('ratchet 2')))), 'ratchet 2');
  check(
    a.decrypt(send('bob', 'sender key', b.encrypt(utf8('sender key'), { senderKey: true }))),
    'sender key',
  );
  check(b.decrypt(send('alice', '', a.encrypt(new Uint8Array(0)))), '');

  return {
    comment: 'generated by crypto/scripts/generate-vectors.ts, do not edit',
    kdf: kdfCases,
    chainStep: { chainKey: hex(ck0), steps },
    rootStep: {
      rootKey: hex(rk),
      dhOutput: hex(dhOut),
      newRootKey: hex(root.rootKey),
      chainKey: hex(root.chainKey),
    },
    messageKeys: { messageKey: hex(mk), key: hex(mks.key), nonce: hex(mks.nonce) },
    x25519: {
      secretA: hex(dhA.secretKey),
      publicA: hex(dhA.publicKey),
      secretB: hex(dhB.secretKey),
      publicB: hex(dhB.publicKey),
      shared: hex(x25519(dhA.secretKey, dhB.publicKey)),
    },
    certificates: {
      alice: hex(aliceCert),
      bob: hex(bobCert),
      aliceUik: hex(alice.uikPublic),
      bobUik: hex(bob.uikPublic),
    },
    prekeys: {
      signedPrekey: hex(encodeSignedPrekey(spk.prekey)),
      kemPrekey: hex(encodeKemPrekey(kem.prekey)),
      oneTimePrekey: hex(encodeOneTimePrekey(otk.prekey)),
    },
    handshake: {
      associatedData: hex(ad),
      ephemeralPublic: hex(ephemeral.publicKey),
      kemSeed: hex(kemSeed),
      kemCiphertext: hex(initiator.kemCiphertext),
      sk: hex(initiator.sk),
    },
    transcript,
    finalState: { alice: hex(a.serialize()), bob: hex(b.serialize()) },
  };
}
