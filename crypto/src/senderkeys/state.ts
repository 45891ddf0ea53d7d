/**
 * The sender-key states, the distribution a member hands out, and the limits
 * that bound them (PROTOCOL.md §8.2–8.4).
 *
 * Runtime: any.
 */
import type { KeyPair } from '../keys.ts';

/** Version byte of distributions and serialized sender-key states. */
export const SENDER_KEY_VERSION = 1;

/** Most message keys a receiver derives ahead in one step (a larger gap is TOO_MANY_SKIPPED). */
export const SENDER_KEY_MAX_SKIP = 1000;

/** Most skipped message keys kept per sender chain; the oldest are dropped first. */
export const SENDER_KEY_MAX_STORED_SKIPPED = 2000;

/** Rotate at least this often (DESIGN.md §3): messages per chain. */
export const SENDER_KEY_MAX_MESSAGES = 1000;

/** Rotate at least this often (DESIGN.md §3): age of a chain in ms (7 days). */
export const SENDER_KEY_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/** Domain string prepended to the bytes a group message signature covers. */
export const GROUP_SIGNATURE_CONTEXT = 'Sotto_v1_GroupMessageSignature';

/** Sender key material handed to other members (PROTOCOL.md §8.2). */
export interface SenderKeyDistribution {
  groupId: string;
  /** The sending member's username and device id. */
  username: string;
  deviceId: string;
  /** Identifies this chain among the sender's rotations. */
  keyId: number;
  /** Iteration of `chainKey`: the receiver can decrypt messages from here on, not before. */
  iteration: number;
  chainKey: Uint8Array;
  /** Ed25519 public key every message of the chain is signed with. */
  signingPublicKey: Uint8Array;
}

/** A device's own sending chain in one group. Secret: persist encrypted at rest. */
export interface OwnSenderKey {
  groupId: string;
  username: string;
  deviceId: string;
  keyId: number;
  /** Iteration the next message will use (= messages sent on this chain). */
  iteration: number;
  chainKey: Uint8Array;
  signing: KeyPair;
  /** When the chain was created (ms, caller's clock): drives {@link needsRotation}. */
  createdAt: number;
}

/** What a receiving device holds for one sender's chain (one key id). */
export interface SenderKeyReceiverState {
  groupId: string;
  username: string;
  deviceId: string;
  keyId: number;
  /** Iteration of the distribution: messages before it were never ours to read. */
  firstIteration: number;
  /** Next iteration the chain key would produce. */
  iteration: number;
  chainKey: Uint8Array;
  signingPublicKey: Uint8Array;
  /** Message keys derived past a gap and not used yet, by iteration (insertion = age order). */
  skipped: Map<number, Uint8Array>;
}

/** Routing data from a group envelope's header, readable without any key. */
export interface GroupEnvelopeHeader {
  username: string;
  deviceId: string;
  keyId: number;
  iteration: number;
}
