/**
 * Create the token-signing key pair once, for deployments where the key
 * server and the brokers run apart (docker-compose, `npm run cluster`):
 * the private key for every key server, the public key for every broker.
 * Existing files are kept, so running it again is harmless.
 *
 * Usage: `tsx scripts/keygen.ts <private.pem> <public.pem>`
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadOrCreateSigningKey, publicKeyToPem } from '@sotto/keyserver/tokens';

/** Paths of a key pair on disk. */
export interface KeyFiles {
  privateKeyFile: string;
  publicKeyFile: string;
}

/**
 * Load the Ed25519 signing key at `privateKeyFile` (generating it, mode 0600,
 * when missing) and (re)write its public half to `publicKeyFile`.
 */
export function ensureSigningKeyPair(files: KeyFiles): { publicKeyPem: string } {
  const key = loadOrCreateSigningKey(files.privateKeyFile);
  const publicKeyPem = publicKeyToPem(key);
  mkdirSync(dirname(files.publicKeyFile), { recursive: true });
  writeFileSync(files.publicKeyFile, publicKeyPem, { mode: 0o644 });
  return { publicKeyPem };
}

const isMain = process.argv[1]?.endsWith('keygen.ts') ?? false;
if (isMain) {
  const [privateKeyFile, publicKeyFile] = process.argv.slice(2);
  if (!privateKeyFile || !publicKeyFile) {
    console.error('usage: tsx scripts/keygen.ts <private.pem> <public.pem>');
    process.exit(2);
  }
  ensureSigningKeyPair({ privateKeyFile, publicKeyFile });
  console.log(`signing key: ${privateKeyFile}\npublic key:  ${publicKeyFile}`);
}
