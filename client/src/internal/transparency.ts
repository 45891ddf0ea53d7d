/**
 * Key transparency on the client (DESIGN.md §5.3, PROTOCOL.md §10): every
 * device certificate fetched from the directory must be included in the key
 * server's append-only log under a signed tree head, and every new head must
 * be consistent with the last one this device saw. The log's public key is
 * pinned on first use. A substituted key that the server shows only to us
 * would have to be in the log, where its owner's own monitoring sees it.
 */
import {
  decodeSignedTreeHead,
  equalBytes,
  fromBase64,
  keyLogLeaf,
  leafHash,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
  type SignedTreeHead,
} from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import type { Ctx } from './context.ts';

const PINNED_KEY = 'kt.logPublicKey';
const LAST_HEAD = 'kt.lastHead';

interface StoredHead {
  treeSize: number;
  root: Uint8Array;
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
    const leaf = keyLogLeaf(user, uik, certificate);
    const key = `${index}|${Array.from(leafHash(leaf).subarray(0, 16)).join(',')}`;
    if (this.#verified.has(key)) return;
    if (index === null || index === undefined)
      throw new ClientError('KT_FAILURE', `${user}'s device certificate is not in the key log`);
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
    if (!ok)
      throw new ClientError(
        'KT_FAILURE',
        `${user}'s device certificate is not proven in the key log`,
      );
    this.#verified.add(key);
  }
}
