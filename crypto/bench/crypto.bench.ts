/**
 * Crypto benchmark (`npm run bench -w crypto`): ops/s of the protocol's hot
 * paths beside raw XChaCha20-Poly1305 measured in the same run, median of
 * several rounds. Prints a Markdown table for docs/PERFORMANCE.md.
 *
 * Targets (issue 2 §4): a ratchet round trip (encrypt + decrypt, 1 KiB) within
 * 3x of raw AEAD encrypt + decrypt; session setup (both sides, X-Wing) < 5 ms.
 */
import { cpus, loadavg } from 'node:os';
import { ready, sodium } from '../src/sodium.ts';
import {
  generateDeviceKeys,
  generateUserIdentity,
  issueDeviceCertificate,
} from '../src/identity.ts';
import {
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
  type PrekeyBundle,
} from '../src/prekeys.ts';
import {
  acceptSession,
  initiateSession,
  type LocalDevice,
  type PrekeySecrets,
} from '../src/session.ts';
import {
  createReceiverState,
  createSenderKey,
  groupDecrypt,
  groupEncrypt,
} from '../src/senderkeys.ts';
import { safetyNumber } from '../src/safety.ts';

await ready();
const s = sodium();

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 400);

/** Runs `op` repeatedly for about ROUND_MS per round; returns the median ops/s over ROUNDS rounds. */
function measure(op: () => void, prepare?: () => void): number {
  // Warm-up: let the JIT settle before measuring.
  const warmUntil = performance.now() + ROUND_MS;
  while (performance.now() < warmUntil) op();
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    prepare?.();
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      op();
      n++;
      if ((n & 7) === 0) elapsed = performance.now() - start;
    }
    elapsed = performance.now() - start;
    rates.push((n * 1000) / elapsed);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

function device(username: string, deviceId: string): LocalDevice & { uik: Uint8Array } {
  const uik = generateUserIdentity();
  const keys = generateDeviceKeys();
  const certificate = issueDeviceCertificate(uik, {
    username,
    deviceId,
    kind: 'user',
    signingKey: keys.signing.publicKey,
    identityKey: keys.identity.publicKey,
    issuedAt: 0,
  });
  return { certificate, keys, uik: uik.publicKey };
}

const alice = device('alice', 'laptop');
const bob = device('bob', 'phone');
const spk = generateSignedPrekey(bob.keys.signing, 1, 0);
const kem = generateKemPrekey(bob.keys.signing, 1, false);
const otks = new Map<number, Uint8Array>();
const bobSecrets: PrekeySecrets = {
  signedPrekey: (id) => (id === 1 ? spk.secretKey : undefined),
  kemPrekey: (id) => (id === 1 ? { secretKey: kem.secretKey, lastResort: false } : undefined),
  oneTimePrekey: (id) => otks.get(id),
};
let nextOtk = 0;
const bundles: PrekeyBundle[] = [];
/** Fresh one-time prekeys for the next setup round (generated outside the timed loop). */
function refillBundles(): void {
  bundles.length = 0;
  otks.clear();
  for (const { prekey, secretKey } of generateOneTimePrekeys(nextOtk, 300)) {
    otks.set(prekey.id, secretKey);
    bundles.push({
      certificate: bob.certificate,
      signedPrekey: spk.prekey,
      kemPrekey: kem.prekey,
      oneTimePrekey: prekey,
    });
  }
  nextOtk += 300;
}
refillBundles();
let bundleIndex = 0;
const hello = new Uint8Array(64);
const setup = measure(
  () => {
    const bundle = bundles[bundleIndex++ % bundles.length]!;
    const a = initiateSession(alice, bundle, { expected: { uik: bob.uik } });
    acceptSession(bob, bobSecrets, a.encrypt(hello), { expected: { uik: alice.uik } });
  },
  () => {
    refillBundles();
    bundleIndex = 0;
  },
);

// Established session for the ratchet rows.
refillBundles();
const a = initiateSession(alice, bundles[0]!);
const { session: b } = acceptSession(bob, bobSecrets, a.encrypt(hello));
a.decrypt(b.encrypt(hello));
const kib = s.randombytes_buf(1024);

const ratchet = measure(() => {
  b.decrypt(a.encrypt(kib));
});
const pingPong = measure(() => {
  b.decrypt(a.encrypt(kib));
  a.decrypt(b.encrypt(kib));
});

const key = s.crypto_aead_xchacha20poly1305_ietf_keygen();
const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
const ad = s.randombytes_buf(64);
const raw = measure(() => {
  const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(kib, ad, null, nonce, key);
  s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, ad, nonce, key);
});

const xA = s.crypto_box_keypair();
const xB = s.crypto_box_keypair();
const rawX25519 = measure(() => {
  s.crypto_scalarmult(xA.privateKey, xB.publicKey);
});
const xwing = s.crypto_kem_xwing_keypair();
const rawXwing = measure(() => {
  const { ciphertext } = s.crypto_kem_xwing_enc(xwing.publicKey);
  s.crypto_kem_xwing_dec(ciphertext, xwing.privateKey);
});

const sender = createSenderKey({ groupId: 'bench', username: 'alice', deviceId: 'laptop', now: 0 });
const receiver = createReceiverState(sender.distribution);
const group = measure(() => {
  groupDecrypt(receiver, groupEncrypt(sender.state, kib), 'bench');
});

const safety = measure(() => {
  safetyNumber({ username: 'alice', uik: alice.uik }, { username: 'bob', uik: bob.uik });
});

const rows: [string, number, string][] = [
  [
    'session setup, both sides (PQXDH with X-Wing + first message)',
    setup,
    `${(1000 / setup).toFixed(2)} ms per setup`,
  ],
  [
    'ratchet encrypt + decrypt, 1 KiB (same direction)',
    ratchet,
    `${(raw / ratchet).toFixed(2)}x raw AEAD`,
  ],
  [
    'ratchet ping-pong, 1 KiB each way (DH ratchet step every message)',
    pingPong,
    `${((2 * 1000) / pingPong).toFixed(3)} ms per message`,
  ],
  ['raw XChaCha20-Poly1305 encrypt + decrypt, 1 KiB', raw, 'reference'],
  [
    'raw X25519 scalar multiplication',
    rawX25519,
    `reference; setup ≈ ${(rawX25519 / setup).toFixed(1)} of these`,
  ],
  ['raw X-Wing encapsulate + decapsulate', rawXwing, 'reference'],
  [
    'group encrypt + decrypt, 1 KiB (sender key, Ed25519 signed)',
    group,
    `${(raw / group).toFixed(2)}x raw AEAD`,
  ],
  ['safety number (both fingerprints)', safety, `${(1000 / safety).toFixed(2)} ms`],
];

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `Crypto benchmark — ${new Date().toISOString()} — Node ${process.version} — ${cpus().length}× ${cpu}`,
);
console.log(
  `median of ${ROUNDS} rounds of ~${ROUND_MS} ms; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
console.log('| operation | ops/s | note |');
console.log('|---|---:|---|');
for (const [name, rate, note] of rows)
  console.log(`| ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${note} |`);
const ratio = raw / ratchet;
console.log(`\nratchet/raw = ${ratio.toFixed(2)} (target ≤ 3): ${ratio <= 3 ? 'met' : 'NOT met'}`);
console.log(
  `setup = ${(1000 / setup).toFixed(2)} ms (target < 5 ms): ${1000 / setup < 5 ? 'met' : 'NOT met'}`,
);
