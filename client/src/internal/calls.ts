/**
 * Sending call signalling (PROTOCOL.md §12.1) and writing call lines into the timeline. Each
 * signalling payload goes pairwise to one device of a peer (every device gets its own offer:
 * each is its own peer connection); none is stored or acknowledged, so nothing is re-sent later
 * to ring a call that is over. The media (WebRTC) is the application's.
 */
import { pad } from '@sotto/crypto';
import { ClientError } from '../errors.ts';
import { encodePayload, isCallKind, type CallPayload, type PayloadInput } from '../payload.ts';
import { callNotice, type CallNote } from './apply/call.ts';
import type { Ctx } from './context.ts';
import type { Pairwise } from './pairwise.ts';
import type { Directory } from './trust.ts';

/** A call payload without `id` and `ts` (filled by the engine). */
export type CallInput = Extract<PayloadInput, { kind: CallPayload['kind'] }>;

/** Call signalling of one engine. */
export class Calls {
  constructor(
    private readonly ctx: Ctx,
    private readonly directory: Directory,
    private readonly pairwise: Pairwise,
  ) {}

  /**
   * The devices of `user` a call rings (verified through the key directory and log like any
   * recipient list), without this device. KEY_CHANGED while a verified contact's new key is
   * not accepted.
   */
  async devices(user: string): Promise<string[]> {
    await this.directory.assertSendable(user);
    const a = this.ctx.account();
    const { devices } = await this.directory.devices(user);
    return devices
      .filter((d) => !(d.user === a.username && d.deviceId === a.deviceId))
      .map((d) => d.deviceId);
  }

  /** Encrypt one call payload for one device of `user` and publish it; returns it. */
  async send(user: string, device: string, input: CallInput): Promise<CallPayload> {
    if (!isCallKind(input.kind))
      throw new ClientError('BAD_INPUT', `${String(input.kind)} is not call signalling`);
    await this.directory.assertSendable(user);
    const payload = this.pairwise.make(input) as CallPayload;
    // Encoding validates it: an SDP whose fingerprint lines disagree never leaves.
    const plaintext = pad(encodePayload(payload));
    await this.ctx.lock.run(() => this.pairwise.encryptAndPublish([{ user, device, plaintext }]));
    return payload;
  }

  /**
   * Write (or replace) the timeline line of a call in `conversationId` and emit it as a
   * `message` event.
   */
  async note(conversationId: string, note: CallNote): Promise<void> {
    const line = callNotice(conversationId, note, this.ctx.now(), this.ctx.account());
    await this.ctx.store.batch([{ op: 'putMessage', message: line }]);
    this.ctx.events.emit('message', line);
  }
}
