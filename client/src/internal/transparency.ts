/**
 * Key transparency on the client (DESIGN.md §5.3, PROTOCOL.md §10): every
 * device certificate fetched from the directory must be included in the key
 * server's append-only log under a signed tree head, and every new head must
 * be consistent with the last one this device saw. The log's public key is
 * pinned on first use. A substituted key that the server shows only to us
 * would have to be in the log, where its owner's own monitoring sees it.
 *
 * That monitoring is {@link Transparency.monitor}: this device reads every
 * leaf appended to the log since its last look, checks that the leaves are
 * exactly the log under a verified head (it recomputes the root from a stored
 * Merkle frontier), and reports bindings under its own username that this
 * account did not make (docs/CLIENT.md "Key transparency").
 */
import {
  decodeDeviceCertificate,
  decodeKeyLogLeaf,
  decodeRenameLogLeaf,
  decodeSignedTreeHead,
  equalBytes,
  fromBase64,
  keyLogLeaf,
  leafHash,
  merkleRoot,
  nodeHash,
  toBase64,
  verifyConsistency,
  verifyDeviceCertificate,
  verifyInclusion,
  verifyTreeHead,
  type RenameLogEntry,
  type SignedTreeHead,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import type { ClientStore, StoreOp } from '../store/types.ts';
import type { Ctx, OwnKeyAlert, OwnKeyLogStatus } from './context.ts';

const PINNED_KEY = 'kt.logPublicKey';
const LAST_HEAD = 'kt.lastHead';
const MONITOR = 'kt.monitor';
/** Leaves asked for per `/v1/log/entries` call (the server's cap). */
const PAGE = 1000;

interface StoredHead {
  treeSize: number;
  root: Uint8Array;
}

/** One perfect subtree on the right edge of the tree: `size` leaves (a power of two) and its hash. */
interface Subtree {
  size: number;
  hash: Uint8Array;
}

/** What the own-key monitor remembers between runs. */
interface MonitorState {
  /** Leaves read so far. */
  size: number;
  /** The tree of those leaves as perfect subtrees, largest first (RFC 6962 shape). */
  frontier: Subtree[];
  /** Whether a leaf with the account's current UIK has been read yet. */
  seenOwnUik: boolean;
  /** When the last run that read new leaves finished; null before the first (absent in old states). */
  checkedAt?: number | null;
  /** Leaves read so far that were reported as alerts (absent in old states: 0). */
  unexpected?: number;
}

/** The saved monitor state (a fresh one before the first run), as a copy safe to change. */
async function loadState(store: ClientStore): Promise<MonitorState> {
  const saved = await store.getSetting<MonitorState>(MONITOR);
  if (!saved) return { size: 0, frontier: [], seenOwnUik: false, checkedAt: null, unexpected: 0 };
  return { ...saved, frontier: [...saved.frontier] };
}

/** What a monitor state says to the user (`trust.ownKeyLog()`). */
function statusOf(state: MonitorState): OwnKeyLogStatus {
  return {
    checkedEntries: state.size,
    checkedAt: state.checkedAt ?? null,
    unexpected: state.unexpected ?? 0,
  };
}

/** What one run of {@link Transparency.monitor} found. */
export interface MonitorRun {
  alerts: OwnKeyAlert[];
  /** The progress stored by this run; null when the log had no new leaves (nothing stored). */
  checked: OwnKeyLogStatus | null;
}

/** Append one leaf hash to a frontier (a binary counter: equal-sized neighbours merge). */
function pushLeaf(frontier: Subtree[], hash: Uint8Array): void {
  frontier.push({ size: 1, hash });
  for (;;) {
    const right = frontier[frontier.length - 1];
    const left = frontier[frontier.length - 2];
    if (!right || !left || left.size !== right.size) return;
    frontier.splice(-2, 2, { size: left.size * 2, hash: nodeHash(left.hash, right.hash) });
  }
}

/** Merkle Tree Hash of the leaves a frontier stands for (RFC 6962: fold from the right). */
function frontierRoot(frontier: readonly Subtree[]): Uint8Array {
  if (frontier.length === 0) return merkleRoot([]);
  let root = frontier[frontier.length - 1]!.hash;
  for (let i = frontier.length - 2; i >= 0; i--) root = nodeHash(frontier[i]!.hash, root);
  return root;
}

/**
 * The store change that tells the own-key monitor this account's UIK was replaced (an identity
 * reset; docs/CLIENT.md "Resetting the identity"): leaves it has not read yet that carry an
 * earlier UIK are history, not alerts, up to the first leaf of the current UIK — as on a device
 * that starts out with the current UIK. Monitor with the old UIK first where possible, so
 * nothing logged before the reset goes unreported.
 */
export async function ownIdentityReplacedOp(store: ClientStore): Promise<StoreOp> {
  const value: MonitorState = { ...(await loadState(store)), seenOwnUik: false };
  return { op: 'setSetting', key: MONITOR, value };
}

/** Verifies inclusion proofs against verified, mutually consistent tree heads. */
export class Transparency {
  #head: { sth: SignedTreeHead; at: number } | null = null;
  readonly #verified = new Set<string>();

  constructor(private readonly ctx: Ctx) {}

  /** The current signed tree head, verified and checked for consistency (cached 5 s). */
  private async head(): Promise<SignedTreeHead> {
    const now = this.ctx.now();
    if (this.#head && now - this.#head.at < 5_000) return this.#head.sth;
    const res = await this.ctx.http.logHead();
    const publicKey = fromBase64(res.publicKey);
    const pinned = await this.ctx.store.getSetting<Uint8Array>(PINNED_KEY);
    if (!pinned) await this.ctx.store.setSetting(PINNED_KEY, publicKey);
    else if (!equalBytes(pinned, publicKey))
      throw new ClientError('KT_FAILURE', 'the key log changed its signing key');
    const sth = decodeSignedTreeHead(fromBase64(res.signedTreeHead));
    if (!verifyTreeHead(sth, pinned ?? publicKey))
      throw new ClientError('KT_FAILURE', 'tree head signature does not verify');
    const last = await this.ctx.store.getSetting<StoredHead>(LAST_HEAD);
    if (last && last.treeSize > sth.treeSize)
      throw new ClientError('KT_FAILURE', 'the key log shrank');
    if (last && last.treeSize < sth.treeSize) {
      const c = await this.ctx.http.logConsistency(last.treeSize, sth.treeSize);
      if (
        !verifyConsistency(
          last.treeSize,
          sth.treeSize,
          last.root,
          sth.root,
          c.proof.map((p) => fromBase64(p)),
        )
      ) {
        throw new ClientError(
          'KT_FAILURE',
          'the key log is not consistent with the head seen before',
        );
      }
    } else if (last && !equalBytes(last.root, sth.root)) {
      throw new ClientError('KT_FAILURE', 'two different key-log heads of the same size');
    }
    await this.ctx.store.setSetting(LAST_HEAD, { treeSize: sth.treeSize, root: sth.root });
    this.#head = { sth, at: now };
    return sth;
  }

  /**
   * Throw KT_FAILURE unless the (user, UIK, certificate) binding is the log
   * leaf at `index` under a verified head. Verified bindings are remembered.
   */
  async checkDevice(
    user: string,
    uik: Uint8Array,
    certificate: Uint8Array,
    index: number | null | undefined,
  ): Promise<void> {
    await this.checkLeaf(keyLogLeaf(user, uik, certificate), index, `${user}'s device certificate`);
  }

  /**
   * Throw KT_FAILURE unless `leaf` (any leaf data: a device binding, a rename leaf) is the log
   * leaf at `index` under a verified head; `what` names it in the error. Verified leaves are
   * remembered.
   */
  async checkLeaf(leaf: Uint8Array, index: number | null | undefined, what: string): Promise<void> {
    const key = `${index}|${Array.from(leafHash(leaf).subarray(0, 16)).join(',')}`;
    if (this.#verified.has(key)) return;
    if (index === null || index === undefined)
      throw new ClientError('KT_FAILURE', `${what} is not in the key log`);
    let sth = await this.head();
    if (index >= sth.treeSize) {
      this.#head = null; // logged after our cached head
      sth = await this.head();
    }
    const p = await this.ctx.http.logProof(index, sth.treeSize);
    const ok =
      p.treeSize === sth.treeSize &&
      equalBytes(fromBase64(p.leaf), leaf) &&
      verifyInclusion(
        leafHash(leaf),
        index,
        sth.treeSize,
        p.proof.map((x) => fromBase64(x)),
        sth.root,
      );
    if (!ok) throw new ClientError('KT_FAILURE', `${what} is not proven in the key log`);
    this.#verified.add(key);
  }

  /**
   * Read the log leaves appended since the last run (all of them on the first
   * run), prove they are the log under a verified head, and return the
   * bindings under `user` that this account did not make:
   * - a UIK other than `ownUik`, once a leaf with `ownUik` has been seen
   *   (earlier UIKs are an identity this user replaced with `ownUik`);
   * - a certificate under `ownUik` that does not verify for `user`.
   * Certificates signed by our own UIK are ours by construction (only a
   * device holding the UIK, i.e. one of ours or one we linked, can sign one).
   * Throws KT_FAILURE when the leaves served do not hash to the signed root;
   * then nothing is reported or remembered. A run that read new leaves stores
   * its progress with them (see {@link ownKeyLog}) and returns it as `checked`.
   */
  async monitor(user: string, ownUik: Uint8Array): Promise<MonitorRun> {
    this.#head = null; // always against the newest head
    const sth = await this.head();
    const state = await loadState(this.ctx.store);
    const before = state.size;
    if (state.size > sth.treeSize) throw new ClientError('KT_FAILURE', 'the key log shrank');
    const alerts: OwnKeyAlert[] = [];
    while (state.size < sth.treeSize) {
      const end = Math.min(sth.treeSize, state.size + PAGE);
      const page = await this.ctx.http.logEntries(state.size, end);
      if (page.start !== state.size || page.entries.length === 0)
        throw new ClientError('KT_FAILURE', 'the key log did not return the entries asked for');
      for (const encoded of page.entries.slice(0, end - state.size)) {
        const leaf = fromBase64(encoded);
        pushLeaf(state.frontier, leafHash(leaf));
        const alert = this.#inspect(user, ownUik, leaf, state);
        if (alert) alerts.push(alert);
        state.size += 1;
      }
    }
    if (!equalBytes(frontierRoot(state.frontier), sth.root))
      throw new ClientError('KT_FAILURE', 'the key log entries do not match its signed tree head');
    if (state.size === before) return { alerts, checked: null };
    state.checkedAt = this.ctx.now();
    state.unexpected = (state.unexpected ?? 0) + alerts.length;
    await this.ctx.store.setSetting(MONITOR, state);
    return { alerts, checked: statusOf(state) };
  }

  /** The own-key monitor's stored progress: entries checked, when, and how many were not ours. */
  async ownKeyLog(): Promise<OwnKeyLogStatus> {
    return statusOf(await loadState(this.ctx.store));
  }

  /**
   * A leaf that is no device binding: a rename (PROTOCOL.md §3.3) filed under our name is
   * alarming unless our own UIK signed it (the server cannot move our name, nor move another
   * account onto it, without our key). Any other leaf no client accepts a binding from.
   */
  #inspectRename(
    user: string,
    ownUik: Uint8Array,
    leaf: Uint8Array,
    logIndex: number,
  ): OwnKeyAlert | null {
    let entry: RenameLogEntry;
    try {
      entry = decodeRenameLogLeaf(leaf);
    } catch {
      return null;
    }
    if (entry.username !== user || equalBytes(entry.statement.uik, ownUik)) return null;
    return {
      logIndex,
      uik: toBase64(entry.statement.uik),
      reason: 'foreignIdentityKey',
      deviceId: null,
    };
  }

  /** Judge one leaf for the own-key monitor (updates `state.seenOwnUik`). */
  #inspect(
    user: string,
    ownUik: Uint8Array,
    leaf: Uint8Array,
    state: MonitorState,
  ): OwnKeyAlert | null {
    let entry: ReturnType<typeof decodeKeyLogLeaf>;
    try {
      entry = decodeKeyLogLeaf(leaf);
    } catch {
      return this.#inspectRename(user, ownUik, leaf, state.size);
    }
    if (entry.username !== user) return null;
    const base = { logIndex: state.size, uik: toBase64(entry.uik) };
    if (!equalBytes(entry.uik, ownUik)) {
      return state.seenOwnUik ? { ...base, reason: 'foreignIdentityKey', deviceId: null } : null;
    }
    state.seenOwnUik = true;
    if (entry.deviceCertificate.length === 0) return null;
    let deviceId: string | null = null;
    try {
      const cert = decodeDeviceCertificate(entry.deviceCertificate);
      deviceId = cert.deviceId;
      verifyDeviceCertificate(cert, { uik: ownUik, username: user });
      return null;
    } catch {
      return { ...base, reason: 'badCertificate', deviceId };
    }
  }
}
