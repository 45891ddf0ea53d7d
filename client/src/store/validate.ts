/**
 * Up-front validation of a write batch, so a malformed op fails the whole batch
 * before anything is written (atomicity holds even for stores without real
 * transactions).
 */
import type { StoreOp } from './types.ts';

const KNOWN_OPS: ReadonlySet<string> = new Set<StoreOp['op']>([
  'putAccount',
  'putPrekeys',
  'deletePrekey',
  'putSession',
  'deleteSession',
  'putOwnSenderKey',
  'deleteOwnSenderKey',
  'putSenderKey',
  'deleteSenderKeys',
  'putMessage',
  'setReceipt',
  'editMessage',
  'deleteMessage',
  'react',
  'markConversationRead',
  'putOutbox',
  'removeOutbox',
  'touchOutbox',
  'markSeen',
  'putContact',
  'putGroup',
  'deleteGroup',
  'setSetting',
  'deleteSetting',
]);

/** Throw a TypeError naming the first op that is not a known {@link StoreOp}. */
export function assertKnownOps(ops: readonly StoreOp[]): void {
  if (!Array.isArray(ops)) throw new TypeError('ops must be an array of store ops');
  ops.forEach((op, i) => {
    if (typeof op !== 'object' || op === null || !KNOWN_OPS.has((op as { op: string }).op)) {
      throw new TypeError(`ops[${i}] is not a known store op`);
    }
  });
}
