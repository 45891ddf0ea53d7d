/**
 * `keygen`: create the token-signing key pair once, for deployments where the
 * key server and the brokers run apart (docker-compose, `npm run cluster`):
 * the private key for every key server, the public key for every broker.
 * Existing files are kept, so running it again is harmless.
 *
 * Usage: `npm run keygen -w keyserver -- <private.pem> <public.pem>`; in the
 * image, `node --conditions=sotto:dist keyserver/dist/keygen.js <private.pem> <public.pem>`.
 */
import { ensureSigningKeyPair } from '@sotto/server-core/tokens';

const [privateKeyFile, publicKeyFile] = process.argv.slice(2);
if (!privateKeyFile || !publicKeyFile) {
  console.error('usage: keygen <private.pem> <public.pem>');
  process.exit(2);
}
ensureSigningKeyPair({ privateKeyFile, publicKeyFile });
console.log(`signing key: ${privateKeyFile}\npublic key:  ${publicKeyFile}`);
