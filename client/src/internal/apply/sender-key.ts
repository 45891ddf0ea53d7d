/**
 * `sender-key` (PROTOCOL.md §8.3): a group member's sender-key distribution, pairwise. Accepted
 * only from a device certified by the UIK the verified chain records for its user; the group's
 * parked envelopes are tried again after the commit.
 */
import {
  decodeSenderKeyDistribution,
  createReceiverState,
  equalBytes,
  fromBase64,
  serializeReceiverState,
} from '@sotto/crypto';
import { ClientError } from '../../errors.ts';
import type { Payload } from '../../payload.ts';
import type { GroupRecord } from '../../store/types.ts';
import type { Applying, Origin } from './types.ts';

/** Store the receiving chain of a sender key and schedule the retry of its group's parked envelopes. */
export async function applySenderKey(
  p: Extract<Payload, { kind: 'sender-key' }>,
  at: Applying,
): Promise<void> {
  await acceptSenderKey(p, at);
  at.fx.senderKeys.push(p.groupId);
}

/** Accept a sender-key distribution that arrived pairwise (caller holds the lock). */
async function acceptSenderKey(
  p: Extract<Payload, { kind: 'sender-key' }>,
  at: Applying,
): Promise<void> {
  const { ctx, origin, ops, chain } = at;
  const dist = decodeSenderKeyDistribution(fromBase64(p.distribution));
  if (
    dist.groupId !== p.groupId ||
    dist.username !== origin.user ||
    dist.deviceId !== origin.device
  ) {
    ctx.events.emit(
      'error',
      new ClientError('BAD_INPUT', 'sender key names another sender or group'),
    );
    return;
  }
  let group = await ctx.store.getGroup(p.groupId);
  if (!group || !group.members.includes(origin.user)) {
    // A group we have not heard of yet (the sender key can overtake the group-change notice).
    try {
      group = await chain.refreshUnlocked(p.groupId);
    } catch (err) {
      ctx.events.emit('error', err);
      return;
    }
  }
  if (
    !group ||
    !group.members.includes(origin.user) ||
    !group.members.includes(ctx.account().username)
  ) {
    return;
  }
  // The sending device must be certified by the UIK the chain records for its user: a member
  // who reset their identity is not one until an admin re-keyed them (the chain we hold may
  // be behind: fetch it once before refusing).
  if (!(await certifiedByChain(at, group, origin))) {
    const fresh = await chain.refreshUnlocked(p.groupId).catch(() => null);
    if (!fresh || !(await certifiedByChain(at, fresh, origin))) {
      ctx.events.emit(
        'error',
        new ClientError(
          'NOT_MEMBER',
          `sender key of ${origin.user}/${origin.device} for group ${p.groupId}: the device is not certified by the key the group records`,
        ),
      );
      return;
    }
  }
  const state = createReceiverState(dist);
  ops.push({
    op: 'putSenderKey',
    record: {
      groupId: p.groupId,
      user: origin.user,
      device: origin.device,
      keyId: dist.keyId,
      state: serializeReceiverState(state),
      createdAt: ctx.now(),
    },
  });
}

/** True when the device `origin` is certified by the UIK `group`'s chain records for its user. */
async function certifiedByChain(
  at: Applying,
  group: GroupRecord,
  origin: Origin,
): Promise<boolean> {
  const { ctx, chain, directory } = at;
  const recorded = chain.stateOf(group).members.get(origin.user)?.uik;
  if (!recorded) return false;
  const account = ctx.account();
  if (origin.user === account.username) return equalBytes(recorded, account.uik.publicKey);
  try {
    let { devices } = await directory.devices(origin.user);
    if (!devices.some((d) => d.deviceId === origin.device))
      ({ devices } = await directory.devices(origin.user, true));
    const device = devices.find((d) => d.deviceId === origin.device);
    if (device) return equalBytes(device.certificate.uik, recorded);
  } catch (err) {
    ctx.events.emit('error', err);
  }
  // Key server out of reach: the session was set up with the key we trust for the user.
  const contact = await ctx.store.getContact(origin.user);
  return !!contact?.uik && equalBytes(contact.uik, recorded);
}
