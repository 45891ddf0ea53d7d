/** Key pair type shared by every module. */

/** A public/secret key pair (Ed25519, X25519 or X-Wing, as the field that holds it says). */
export interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}
