/**
 * Voice and video calls on WebRTC (docs/WEB.md "Calls", PROTOCOL.md §12.1): 1:1 and group calls
 * of up to {@link MAX_CALL_PARTICIPANTS} people as a full mesh, one peer connection
 * (`call-link.ts`) per peer device; camera, microphone and screen are `call-media.ts`'s. This
 * module is the call's state machine: it places, rings, accepts and ends calls and applies the
 * signalling that arrives (end-to-end encrypted through the engine, one device at a time).
 *
 * Rules it keeps:
 * - An offer rings every device of the callee; the first device that answers wins and the
 *   caller tells the others `answered-elsewhere`.
 * - An offer for the call under way must come in the call's conversation: in a group call that
 *   is an offer the engine checked against the group's verified membership (`conversation`), so
 *   someone outside the group who learnt the call id cannot join it.
 * - Group mesh: the caller offers to every member device. A member that accepts answers every
 *   offer that rang it, then offers to each member device it has no offer from whose
 *   `user|device` sorts above its own; a device in the call answers such offers at once. So of
 *   two members accepting at once only one offers. Should two offers still cross (a caller's
 *   offer late), the smaller `user|device` answers and drops its own.
 * - Those mesh offers go out after the accept, each on its own: a slow send to one device (an
 *   offline one needing a new session) never holds up the signalling of the others.
 * - After the media connects, the DTLS certificate the browser accepted must be the one the
 *   decrypted SDP named, else the link is hung up (`failed`).
 * - Not ringing forever: {@link CALL_RING_MS}, then a missed (callee) or unanswered (caller) line.
 */
import { CALL_RING_MS, MAX_CALL_PARTICIPANTS } from '@sotto/crypto/wire';
import type { CallInput, CallSignal, CallSignalling, ConversationId } from './messenger.ts';
import { parseConversationId } from './messenger.ts';
import { CallMedia } from './call-media.ts';
import { PeerLink, linkKey, type CallStats, type PendingOffer } from './call-link.ts';

export { MAX_CALL_PARTICIPANTS };
export type { CallStats };

/** Where the call is. */
export type CallPhase = 'idle' | 'ringing' | 'outgoing' | 'active';

/** What the call view shows. */
export interface CallView {
  phase: CallPhase;
  callId: string;
  conversationId: ConversationId;
  media: 'audio' | 'video';
  /** Who calls (ringing) or the peer / group name. */
  peer: string;
  muted: boolean;
  cameraOff: boolean;
  sharing: boolean;
  /** When the first peer connected (ms), or null. */
  connectedAt: number | null;
  /** The peers' media, one entry per connected device. */
  remotes: { key: string; user: string; stream: MediaStream; connected: boolean }[];
  local: MediaStream | null;
  /** Why the last call ended in error (`failed`, `busy`, `fingerprint`, `unverified`), or ''. */
  error: string;
}

type HangupReason = 'ended' | 'declined' | 'answered-elsewhere' | 'timeout' | 'failed';

/** The calls of one signed-in account. Fires `change` whenever {@link view} changes. */
export class CallManager extends EventTarget {
  private phase: CallPhase = 'idle';
  private callId = '';
  private conversationId: ConversationId = '';
  private media: 'audio' | 'video' = 'video';
  private peerName = '';
  private group: string | null = null;
  private readonly links = new Map<string, PeerLink>();
  private readonly offers = new Map<string, PendingOffer>();
  /** Calls that ended or were declined here: offers for them are answered with a hangup. */
  private readonly finished = new Set<string>();
  private readonly local = new CallMedia(
    (kind, track) => this.replace(kind, track),
    () => this.changed(),
  );
  private connectedAt: number | null = null;
  private ringTimer: ReturnType<typeof setTimeout> | undefined;
  private error = '';
  private outgoing = false;
  private ice: RTCIceServer[] = [];
  private readonly stop: () => void;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly signalling: CallSignalling,
    private readonly me: { username: string; deviceId: string },
  ) {
    super();
    this.stop = signalling.onSignal(
      (s) => void this.serial(() => this.onSignal(s)).catch((e) => this.fail(e)),
    );
  }

  /**
   * Run `fn` after everything queued before it: signalling that arrives while the user's accept
   * is still getting the camera waits for it, so no connection is built without our media.
   */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Stop listening and end any call (sign-out). */
  dispose(): void {
    this.stop();
    void this.hangUp();
  }

  /** What the call view shows now. */
  get view(): CallView {
    return {
      phase: this.phase,
      callId: this.callId,
      conversationId: this.conversationId,
      media: this.media,
      peer: this.peerName,
      muted: this.local.muted,
      cameraOff: this.local.cameraOff,
      sharing: this.local.sharing,
      connectedAt: this.connectedAt,
      remotes: [...this.links.values()]
        .filter((l) => l.connected || l.stream.getTracks().length > 0)
        .map((l) => ({ key: l.key, user: l.user, stream: l.stream, connected: l.connected })),
      local: this.local.local,
      error: this.error,
    };
  }

  private changed(): void {
    this.dispatchEvent(new Event('change'));
  }

  /** Place a call in a DM or a group (at most {@link MAX_CALL_PARTICIPANTS} people). */
  async start(conversationId: ConversationId, media: 'audio' | 'video'): Promise<void> {
    if (this.phase !== 'idle') throw new RangeError('already in a call');
    const c = parseConversationId(conversationId);
    let users = [c.ref];
    if (c.kind === 'group') {
      users = (await this.signalling.groupMembers(c.ref)).filter((u) => u !== this.me.username);
      if (users.length + 1 > MAX_CALL_PARTICIPANTS)
        throw new RangeError(`group calls take at most ${MAX_CALL_PARTICIPANTS} people`);
    }
    this.reset(newCallId(), conversationId, media, c.ref);
    this.group = c.kind === 'group' ? c.ref : null;
    this.outgoing = true;
    this.phase = 'outgoing';
    this.changed();
    try {
      await this.prepare();
      for (const user of users)
        for (const device of await this.signalling.devices(user)) await this.offerTo(user, device);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.links.size === 0) return this.end('unanswered');
    this.armRing(() => void this.hangUp('timeout'));
  }

  /**
   * Accept the ringing call: answer every offer that rang here, then (group call) offer to the
   * members whose offer this device is to make.
   */
  async accept(): Promise<void> {
    const callId = this.callId;
    const offeredBy = await this.serial(() => this.accepting());
    if (offeredBy !== null) await this.join(callId, offeredBy);
  }

  /** The serial part of an accept: our media, then the answers. Returns who offered, or null. */
  private async accepting(): Promise<Set<string> | null> {
    if (this.phase !== 'ringing') return null;
    clearTimeout(this.ringTimer);
    this.phase = 'active';
    this.changed();
    try {
      await this.prepare();
      const offers = [...this.offers.values()];
      this.offers.clear();
      for (const o of offers) await this.answer(o);
      return new Set(offers.map((o) => o.user));
    } catch (err) {
      this.fail(err);
      return null;
    }
  }

  /**
   * The mesh join of a group call (outside the signalling queue): offer to each member device
   * that sorts above us, has no link yet and whose user did not offer to us. A device that
   * cannot be reached is left out; the call goes on with the others.
   */
  private async join(callId: string, offeredBy: Set<string>): Promise<void> {
    const group = this.group;
    if (group === null) return;
    const me = linkKey(this.me.username, this.me.deviceId);
    const members = await this.signalling.groupMembers(group).catch(() => []);
    const offers: Promise<void>[] = [];
    for (const user of members) {
      if (user === this.me.username || offeredBy.has(user)) continue;
      const devices = await this.signalling.devices(user).catch(() => []);
      for (const device of devices) {
        if (linkKey(user, device) < me) continue;
        offers.push(
          this.offerTo(user, device, callId).catch((err: unknown) => {
            console.warn(`call: no offer to ${user}/${device}`, err);
            this.drop(linkKey(user, device));
          }),
        );
      }
    }
    await Promise.all(offers);
  }

  /** Decline the ringing call on this device. */
  async decline(): Promise<void> {
    if (this.phase !== 'ringing') return;
    const offers = [...this.offers.values()];
    for (const o of offers) await this.hangupTo(o.user, o.device, 'declined');
    await this.end('declined');
  }

  /** Hang up (or stop calling): tells every peer device, writes the call line. */
  async hangUp(reason: 'ended' | 'timeout' = 'ended'): Promise<void> {
    if (this.phase === 'idle') return;
    if (this.phase === 'ringing') return this.decline();
    const links = [...this.links.values()];
    await Promise.all(links.map((l) => this.hangupTo(l.user, l.device, reason)));
    await this.end(this.connectedAt === null ? 'unanswered' : 'ended');
  }

  /** Mute or unmute the microphone: a muted call sends no audio packets at all. */
  setMuted(muted: boolean): Promise<void> {
    return this.local.setMuted(muted);
  }

  /** Turn the camera off (nothing sent) or on again. */
  setCameraOff(off: boolean): Promise<void> {
    return this.local.setCameraOff(off);
  }

  /** Switch to the next camera (video calls) or microphone. */
  switchDevice(kind: 'audioinput' | 'videoinput'): Promise<void> {
    return this.local.switchDevice(kind);
  }

  /** Share the screen instead of the camera (video calls), or stop sharing. */
  async setSharing(on: boolean): Promise<void> {
    if (this.media === 'video') await this.local.setSharing(on);
  }

  /** Counters per peer device (`getStats`). */
  stats(): Promise<CallStats[]> {
    return Promise.all([...this.links.values()].map((l) => l.stats()));
  }

  // ---- signalling in ----

  private async onSignal(s: CallSignal): Promise<void> {
    const p = s.payload;
    const k = linkKey(s.user, s.device);
    switch (p.kind) {
      case 'call-offer': {
        if (s.stale) return;
        if (this.finished.has(p.callId))
          return this.signalTo(s.user, s.device, p.callId, 'call-hangup', 'answered-elsewhere');
        if (this.phase !== 'idle' && p.callId !== this.callId)
          return this.signalTo(s.user, s.device, p.callId, 'call-busy');
        const offer = { user: s.user, device: s.device, sdp: p.sdp, fingerprint: p.fingerprint };
        if (this.phase === 'idle') {
          this.reset(p.callId, s.conversationId, p.media, s.user);
          this.group = s.conversationId.startsWith('group:')
            ? parseConversationId(s.conversationId).ref
            : null;
          this.phase = 'ringing';
          this.offers.set(k, { ...offer, ice: [] });
          this.armRing(() => void this.end('missed'));
          this.changed();
          return;
        }
        // The same call id from outside the call's conversation (a 1:1 call's offer from
        // someone else; a group call's offer without the membership-checked `conversation`).
        if (s.conversationId !== this.conversationId) return;
        if (this.phase === 'ringing') {
          this.offers.set(k, { ...offer, ice: [] });
          return;
        }
        const mine = this.links.get(k);
        if (mine?.offered && !mine.remoteSet) {
          // Both offered at once: the smaller address answers, the other waits for that answer.
          if (linkKey(this.me.username, this.me.deviceId) > k) return;
          this.drop(k);
        }
        await this.answer({ ...offer, ice: [] });
        return;
      }
      case 'call-answer': {
        if (p.callId !== this.callId) return;
        const l = this.links.get(k);
        if (!l || !(await l.answered(p.sdp, p.fingerprint))) return;
        if (this.phase === 'outgoing') {
          this.phase = 'active';
          clearTimeout(this.ringTimer);
        }
        // Answered on this device of the user: stop ringing on their other devices (the
        // hangups are not waited for: a slow send must not hold up the call's signalling).
        for (const other of [...this.links.values()]) {
          if (other.user !== s.user || other.device === s.device || other.remoteSet) continue;
          void this.hangupTo(other.user, other.device, 'answered-elsewhere');
          this.drop(other.key);
        }
        this.changed();
        return;
      }
      case 'call-ice': {
        if (p.callId !== this.callId) return;
        const l = this.links.get(k);
        // Candidates for an offer still ringing here: kept for when it is answered.
        if (!l) this.offers.get(k)?.ice.push(...p.candidates);
        else await l.candidates(p.candidates);
        return;
      }
      case 'call-hangup':
      case 'call-busy': {
        if (p.callId !== this.callId) return;
        if (this.phase === 'ringing') {
          this.offers.delete(k);
          if (this.offers.size === 0)
            await this.end(
              p.kind === 'call-hangup' && p.reason === 'answered-elsewhere' ? 'answered' : 'missed',
            );
          else this.changed();
          return;
        }
        this.drop(k);
        if (p.kind === 'call-busy' && this.links.size === 0) this.error = 'busy';
        // A 1:1 callee that declines on one device declines the call.
        const declined = p.kind === 'call-hangup' && p.reason === 'declined' && this.group === null;
        if (this.links.size === 0 || (declined && this.connectedAt === null)) {
          if (declined)
            for (const l of [...this.links.values()])
              await this.hangupTo(l.user, l.device, 'ended');
          await this.end(this.connectedAt === null ? 'unanswered' : 'ended');
        } else this.changed();
        return;
      }
    }
  }

  // ---- peer connections ----

  private reset(
    callId: string,
    conversationId: ConversationId,
    media: 'audio' | 'video',
    peer: string,
  ): void {
    this.callId = callId;
    this.conversationId = conversationId;
    this.media = media;
    this.peerName = peer;
    this.error = '';
    this.local.reset();
    this.connectedAt = null;
  }

  private armRing(then: () => void): void {
    clearTimeout(this.ringTimer);
    this.ringTimer = setTimeout(then, CALL_RING_MS);
  }

  /** Camera and microphone, and the ICE servers, once per call. */
  private async prepare(): Promise<void> {
    if (this.local.local !== null) return;
    this.ice = await this.signalling.iceServers().catch(() => []);
    await this.local.open(this.media);
  }

  private link(user: string, device: string, offered: boolean): PeerLink {
    const l = new PeerLink(user, device, offered, {
      callId: this.callId,
      iceServers: this.ice,
      media: this.local,
      send: (input) => this.signalling.send(user, device, input),
      onTrack: () => this.changed(),
      onState: (link, state) => {
        if (this.links.get(link.key) !== link) return;
        if (state === 'connected') void this.connected(link);
        else {
          void this.hangupTo(user, device, 'failed');
          this.drop(link.key);
          if (this.links.size === 0 && this.phase === 'active') void this.end('ended');
          else this.changed();
        }
      },
    });
    this.links.set(l.key, l);
    return l;
  }

  /** The media connected: check the DTLS certificate against the decrypted SDP first. */
  private async connected(l: PeerLink): Promise<void> {
    const verdict = await l.verify();
    if (verdict !== 'ok') {
      console.warn(`call: media certificate of ${l.key} ${verdict}; hanging up that link`);
      this.error = verdict === 'mismatch' ? 'fingerprint' : 'unverified';
      await this.hangupTo(l.user, l.device, 'failed');
      this.drop(l.key);
      if (this.links.size === 0) await this.end(this.connectedAt === null ? 'unanswered' : 'ended');
      else this.changed();
      return;
    }
    this.connectedAt ??= Date.now();
    this.changed();
  }

  /** Offer to one device — unless the call moved on or a link to it exists already. */
  private async offerTo(user: string, device: string, callId = this.callId): Promise<void> {
    if (this.phase === 'idle' || this.callId !== callId || this.links.has(linkKey(user, device)))
      return;
    const l = this.link(user, device, true);
    await l.offer(this.media, this.group !== null ? `group:${this.group}` : null);
  }

  private async answer(o: PendingOffer): Promise<void> {
    await this.link(o.user, o.device, false).answer(o);
    this.changed();
  }

  private async replace(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    for (const l of this.links.values()) await l.replace(kind, track);
  }

  private hangupTo(user: string, device: string, reason: HangupReason): Promise<void> {
    return this.signalTo(user, device, this.callId, 'call-hangup', reason);
  }

  private async signalTo(
    user: string,
    device: string,
    callId: string,
    kind: 'call-hangup' | 'call-busy',
    reason?: HangupReason,
  ): Promise<void> {
    const input: CallInput =
      kind === 'call-busy' ? { kind, callId } : { kind, callId, reason: reason ?? 'ended' };
    await this.signalling.send(user, device, input).catch(() => undefined);
  }

  /** Close the link to one device (if it is still ours). */
  private drop(k: string): void {
    const l = this.links.get(k);
    if (!l) return;
    this.links.delete(k);
    l.close();
  }

  /** The call is over here: close everything, write its line. */
  private async end(
    how: 'missed' | 'ended' | 'declined' | 'unanswered' | 'answered',
  ): Promise<void> {
    if (this.phase === 'idle') return;
    clearTimeout(this.ringTimer);
    const callId = this.callId;
    const duration = this.connectedAt === null ? undefined : Date.now() - this.connectedAt;
    for (const k of [...this.links.keys()]) this.drop(k);
    this.offers.clear();
    this.local.close();
    this.finished.add(callId);
    this.phase = 'idle';
    this.changed();
    // Answered on another of our devices: that device writes the line.
    if (how === 'answered') return;
    await this.signalling
      .note(this.conversationId, {
        callId,
        event: how,
        media: this.media,
        outgoing: this.outgoing,
        peer: this.group !== null && this.outgoing ? this.group : this.peerName,
        ...(duration !== undefined ? { durationMs: duration } : {}),
      })
      .catch(() => undefined);
    this.outgoing = false;
  }

  private fail(err: unknown): void {
    console.error('call failed', err);
    this.error = 'failed';
    void this.hangUp();
  }
}

/** A fresh call id (a message id: 16 random bytes, base64url). */
function newCallId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...b))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}
