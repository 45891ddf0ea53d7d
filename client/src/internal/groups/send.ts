/**
 * Sending to a group (PROTOCOL.md §8.2–8.6): one encryption under our sender key, signed, on the
 * group topic; the key itself goes pairwise (through pairwise.ts, into the outbox) to every
 * member device the verified chain vouches for that does not hold it yet, and is rotated when
 * due or when a device that held it is no longer a member device.
 */
import {
  createSenderKey,
  deserializeOwnSenderKey,
  encodeSenderKeyDistribution,
  equalBytes,
  groupEncrypt,
  groupTopic,
  inboxTopic,
  needsRotation,
  pad,
  rotateSenderKey,
  senderKeyDistribution,
  serializeOwnSenderKey,
  toBase64,
  type OwnSenderKey,
} from '@sotto/crypto';
import { ClientError } from '../../errors.ts';
import { encodePayload, type Payload, type PayloadInput } from '../../payload.ts';
import type { GroupRecord, StoreOp } from '../../store/types.ts';
import type { Ctx, RemoteDevice } from '../context.ts';
import { groupConversation } from '../conversation.ts';
import { isAcked } from '../kinds.ts';
import { mapLimited } from '../limit.ts';
import { outboxOps, type Pairwise } from '../pairwise.ts';
import type { Directory } from '../trust.ts';
import { assertNotFrozen, compareChains, type GroupChain } from './chain.ts';

/** Member device lists fetched at once when a send finds them expired. */
const MEMBER_LOOKUP_CONCURRENCY = 16;

/** Sending to groups of one engine (Sender Keys, PROTOCOL.md §8.2–8.6). */
export class GroupSender {
  constructor(
    private readonly ctx: Ctx,
    private readonly directory: Directory,
    private readonly chain: GroupChain,
    private readonly pairwise: Pairwise,
  ) {}

  /**
   * Member devices verified against the chain's UIKs (excluding this device): the only devices
   * our sender key goes to (§8.2). Members come from the verified chain itself, and a device
   * counts only when its certificate is signed by the UIK the chain records for its user.
   */
  private async memberDevices(
    group: GroupRecord,
    state = this.chain.stateOf(group),
  ): Promise<RemoteDevice[]> {
    const account = this.ctx.account();
    const out: RemoteDevice[] = [];
    // Bounded: a 1,000-member room whose lists all expired is not 1,000 lookups at once.
    await mapLimited([...state.members], MEMBER_LOOKUP_CONCURRENCY, async ([m, { uik }]) => {
      try {
        const { devices } = await this.directory.devices(m);
        for (const d of devices) {
          if (m === account.username && d.deviceId === account.deviceId) continue;
          // Membership verified before handing out sender keys: the device must be certified by the chain's UIK.
          if (d.user === m && equalBytes(d.certificate.uik, uik)) out.push(d);
        }
      } catch (err) {
        this.ctx.events.emit('error', err);
      }
    });
    return out;
  }

  /** Send a payload to a group (one encryption, signed); returns it. */
  async send(
    groupId: string,
    input: PayloadInput,
    options: { id?: string } = {},
  ): Promise<Payload> {
    const group = await this.chain.requireGroup(groupId);
    const state = this.chain.stateOf(group);
    this.chain.assertCurrent(state);
    // Announcement-only (PROTOCOL.md §8.1 `policy`): the broker would refuse the publish.
    if (state.policy.announce && !state.members.get(this.ctx.account().username)?.admin) {
      throw new ClientError('NOT_ADMIN', `only admins post in announcement-only group ${groupId}`);
    }
    const payload = this.pairwise.make(input, options.id);
    const devices = await this.memberDevices(group, state);
    const plaintext = pad(encodePayload(payload));
    const account = this.ctx.account();
    const acked = isAcked(payload.kind);
    const now = this.ctx.now();
    const ops: StoreOp[] = [];
    if (payload.kind === 'text' || payload.kind === 'reply' || payload.kind === 'file') {
      ops.push({
        op: 'putMessage',
        message: this.pairwise.outgoingRecord(
          groupConversation(groupId),
          payload,
          devices.filter((d) => d.user !== account.username).map((d) => `${d.user}:${d.deviceId}`),
        ),
      });
    }
    ops.push(
      ...(await this.pairwise.localEffect(payload, account.username, groupConversation(groupId))),
    );
    if (acked)
      ops.push(
        ...outboxOps(
          payload.id,
          devices.map((d) => ({
            user: d.user,
            device: d.deviceId,
            topic: groupTopic(groupId),
            plaintext,
          })),
          now,
          // Re-sends go in creation order: the message's own (strictly increasing) timestamp.
          payload.ts,
        ),
      );
    await this.ctx.store.batch(ops);
    await this.encryptAndPublish(group, devices, plaintext);
    return payload;
  }

  /** Re-send an outbox group message (re-encrypted on the current chain); not to a frozen group. */
  async resend(groupId: string, _messageId: string, plaintext: Uint8Array): Promise<void> {
    if ((await this.ctx.store.getGroup(groupId))?.frozen) return;
    const group = await this.chain.requireGroup(groupId);
    const state = this.chain.stateOf(group);
    this.chain.assertCurrent(state);
    // Turned announcement-only since: the broker would refuse it (and drop our connection).
    if (state.policy.announce && !state.members.get(this.ctx.account().username)?.admin) return;
    const devices = await this.memberDevices(group, state);
    await this.encryptAndPublish(group, devices, plaintext);
  }

  /**
   * Under the lock: make sure our sender key exists (rotating when due, or when a device it was
   * handed to is no longer a member device, §8.6) and was handed to every current member device,
   * then encrypt and publish.
   */
  private async encryptAndPublish(
    group: GroupRecord,
    memberDevices: RemoteDevice[],
    plaintext: Uint8Array,
  ): Promise<void> {
    const account = this.ctx.account();
    const { groupId } = group;
    const envelope = await this.ctx.lock.run(async () => {
      const now = this.ctx.now();
      // The chain may have moved (or been frozen) since the devices were looked up: the key goes
      // only to devices the chain stored now still vouches for.
      const current = await this.ctx.store.getGroup(groupId);
      if (!current?.members.includes(account.username))
        throw new ClientError('NOT_MEMBER', `not a member of group ${groupId}`);
      assertNotFrozen(current);
      let devices = memberDevices;
      if (compareChains(group.chain, current.chain) !== 'same') {
        const state = this.chain.stateOf(current);
        devices = devices.filter((d) => {
          const uik = state.members.get(d.user)?.uik;
          return !!uik && equalBytes(uik, d.certificate.uik);
        });
      }
      const stored = await this.ctx.store.getOwnSenderKey(groupId);
      let own: OwnSenderKey;
      let distributedTo: string[];
      if (!stored) {
        own = createSenderKey({
          groupId,
          username: account.username,
          deviceId: account.deviceId,
          now,
        }).state;
        distributedTo = [];
      } else {
        own = deserializeOwnSenderKey(stored.state);
        distributedTo = stored.distributedTo;
        // A device that holds our key but is no longer a member device (logged out, lost,
        // its user reset or removed) must not read what comes next: start a new chain.
        const live = new Set(devices.map((d) => `${d.user}:${d.deviceId}`));
        const vanished = distributedTo.some((k) => !live.has(k));
        if (vanished || needsRotation(own, { now })) {
          own = rotateSenderKey(own, { now }).state;
          distributedTo = [];
        }
      }
      const missing = devices.filter((d) => !distributedTo.includes(`${d.user}:${d.deviceId}`));
      if (missing.length) {
        const dist = toBase64(encodeSenderKeyDistribution(senderKeyDistribution(own)));
        const sk = this.pairwise.make({ kind: 'sender-key', groupId, distribution: dist });
        this.pairwise.senderKeyIds.add(sk.id);
        const skPlain = pad(encodePayload(sk));
        await this.ctx.store.batch(
          outboxOps(
            sk.id,
            missing.map((d) => ({
              user: d.user,
              device: d.deviceId,
              topic: inboxTopic(d.user, d.deviceId),
              plaintext: skPlain,
            })),
            now,
          ),
        );
        await this.pairwise.encryptAndPublish(
          missing.map((d) => ({ user: d.user, device: d.deviceId, plaintext: skPlain })),
          true,
        );
        distributedTo = [...distributedTo, ...missing.map((d) => `${d.user}:${d.deviceId}`)];
      }
      const env = groupEncrypt(own, plaintext);
      await this.ctx.store.batch([
        {
          op: 'putOwnSenderKey',
          record: {
            groupId,
            keyId: own.keyId,
            state: serializeOwnSenderKey(own),
            distributedTo,
            createdAt: own.createdAt,
            messageCount: own.iteration,
          },
        },
      ]);
      return env;
    });
    this.ctx.publish(groupTopic(groupId), envelope);
  }

  /** Typing in a group (not stored, not acknowledged). */
  async sendTyping(groupId: string, typing: boolean): Promise<void> {
    const group = await this.ctx.store.getGroup(groupId);
    if (group?.policy?.announce && !group.admins.includes(this.ctx.account().username)) return;
    await this.send(groupId, { kind: 'typing', typing, conversation: groupConversation(groupId) });
  }
}
