/**
 * Voice and video calls on WebRTC (docs/WEB.md "Calls", PROTOCOL.md §12.1): 1:1 and group calls
 * of up to {@link MAX_CALL_PARTICIPANTS} people as a full mesh, one RTCPeerConnection per peer
 * device. Signalling goes only through the engine (end-to-end encrypted, one device at a time);
 * the media flows peer to peer (or through TURN), DTLS-SRTP keyed by certificates whose
 * fingerprints the encrypted SDP carries.
 *
 * Rules it keeps:
 * - An offer rings every device of the callee (each its own offer); the first device that
 *   answers wins and the caller tells the others `answered-elsewhere`.
 * - A group call: each participant that accepts offers to every member device it has no offer
 *   from; a device in the call answers such offers at once; when two offer to each other at the
 *   same time, the one with the smaller `user|device` answers and drops its own.
 * - After the media connects, the DTLS certificate the browser accepted must be the one the
 *   decrypted SDP named (`getStats` → remote certificate); otherwise the link is hung up
 *   (`failed`). The wire decoder has already refused an SDP whose fingerprint lines disagree
 *   with its `fingerprint` field.
 * - Not ringing forever: {@link CALL_RING_MS}, then a missed (callee) or unanswered (caller) line.
 */
import { CALL_RING_MS, MAX_CALL_PARTICIPANTS, sdpFingerprints } from '@sotto/crypto/wire';
import type { CallInput, CallSignal, CallSignalling, ConversationId } from './messenger.ts';
import { parseConversationId } from './messenger.ts';

export { MAX_CALL_PARTICIPANTS };

/** Where the call is. */
export type CallPhase = 'idle' | 'ringing' | 'outgoing' | 'active';

/** One peer device of the call. */
interface PeerLink {
  user: string;
  device: string;
  pc: RTCPeerConnection;
  /** We sent the offer and wait for the answer. */
  offered: boolean;
  /** Their fingerprint from the decrypted SDP (null until we have their description). */
  fingerprint: string | null;
  remoteSet: boolean;
  queued: RTCIceCandidateInit[];
  /** Our candidates wait until our offer/answer went out. */
  described: boolean;
  pending: RTCIceCandidateInit[];
  connected: boolean;
  stream: MediaStream;
}

/** An offer that rang here and was not answered yet. */
interface PendingOffer {
  user: string;
  device: string;
  sdp: string;
  fingerprint: string;
  /** ICE candidates that came with it before it was answered. */
  ice: RTCIceCandidateInit[];
}

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
  /** Why the last call ended in error (`failed`, `busy`, `fingerprint`), or ''. */
  error: string;
}

/** Per-peer counters from `getStats`, for the call view and the tests. */
export interface CallStats {
  key: string;
  bytesReceived: number;
  framesDecoded: number;
  audioPacketsSent: number;
  audioPacketsReceived: number;
  connected: boolean;
}

const key = (user: string, device: string): string => `${user}|${device}`;

/**
 * The calls of one signed-in account. Fires `change` whenever {@link view} changes.
 */
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
  private local: MediaStream | null = null;
  private camera: MediaStreamTrack | null = null;
  private muted = false;
  private cameraOff = false;
  private sharing = false;
  private connectedAt: number | null = null;
  private startedAt = 0;
  private ringTimer: ReturnType<typeof setTimeout> | undefined;
  private error = '';
  private outgoing = false;
  private ice: RTCIceServer[] = [];
  private readonly stop: () => void;

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
  private queue: Promise<void> = Promise.resolve();

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
      muted: this.muted,
      cameraOff: this.cameraOff,
      sharing: this.sharing,
      connectedAt: this.connectedAt,
      remotes: [...this.links.values()]
        .filter((l) => l.connected || l.stream.getTracks().length > 0)
        .map((l) => ({
          key: key(l.user, l.device),
          user: l.user,
          stream: l.stream,
          connected: l.connected,
        })),
      local: this.local,
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

  /** Accept the ringing call: answer every offer that rang here, offer to the rest of a group. */
  accept(): Promise<void> {
    return this.serial(() => this.accepting());
  }

  private async accepting(): Promise<void> {
    if (this.phase !== 'ringing') return;
    clearTimeout(this.ringTimer);
    this.phase = 'active';
    this.changed();
    try {
      await this.prepare();
      const offers = [...this.offers.values()];
      this.offers.clear();
      for (const o of offers) await this.answer(o);
      if (this.group !== null) {
        const members = await this.signalling.groupMembers(this.group);
        const offeredBy = new Set(offers.map((o) => o.user));
        for (const user of members) {
          if (user === this.me.username || offeredBy.has(user)) continue;
          for (const device of await this.signalling.devices(user))
            if (!this.links.has(key(user, device))) await this.offerTo(user, device);
        }
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Decline the ringing call on this device. */
  async decline(): Promise<void> {
    if (this.phase !== 'ringing') return;
    const offers = [...this.offers.values()];
    for (const o of offers) await this.signal(o.user, o.device, 'call-hangup', 'declined');
    await this.end('declined');
  }

  /** Hang up (or stop calling): tells every peer device, writes the call line. */
  async hangUp(reason: 'ended' | 'timeout' = 'ended'): Promise<void> {
    if (this.phase === 'idle') return;
    if (this.phase === 'ringing') return this.decline();
    const links = [...this.links.values()];
    await Promise.all(
      links.map((l) => this.signal(l.user, l.device, 'call-hangup', reason).catch(() => undefined)),
    );
    await this.end(this.connectedAt === null ? 'unanswered' : 'ended');
  }

  /** Mute or unmute the microphone: a muted call sends no audio packets at all. */
  async setMuted(muted: boolean): Promise<void> {
    this.muted = muted;
    const track = this.local?.getAudioTracks()[0] ?? null;
    await this.replace('audio', muted ? null : track);
    this.changed();
  }

  /** Turn the camera off (nothing sent) or on again. */
  async setCameraOff(off: boolean): Promise<void> {
    this.cameraOff = off;
    if (!this.sharing) await this.replace('video', off ? null : this.camera);
    this.changed();
  }

  /** Switch to the next camera (video calls) or microphone. */
  async switchDevice(kind: 'audioinput' | 'videoinput'): Promise<void> {
    const all = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === kind);
    if (all.length === 0 || this.local === null) return;
    const current = (kind === 'audioinput' ? this.local.getAudioTracks() : [this.camera])[0];
    const at = all.findIndex((d) => d.deviceId === current?.getSettings().deviceId);
    const next = all[(at + 1) % all.length]!;
    const s = await navigator.mediaDevices.getUserMedia(
      kind === 'audioinput'
        ? { audio: { deviceId: { exact: next.deviceId } } }
        : { video: { deviceId: { exact: next.deviceId } } },
    );
    const track = s.getTracks()[0]!;
    if (current) {
      this.local.removeTrack(current);
      current.stop();
    }
    this.local.addTrack(track);
    if (kind === 'videoinput') {
      this.camera = track;
      if (!this.cameraOff && !this.sharing) await this.replace('video', track);
    } else if (!this.muted) await this.replace('audio', track);
    this.changed();
  }

  /** Share the screen instead of the camera, or stop sharing. */
  async setSharing(on: boolean): Promise<void> {
    if (this.media !== 'video') return;
    if (on) {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const track = s.getVideoTracks()[0]!;
      track.addEventListener('ended', () => void this.setSharing(false));
      this.sharing = true;
      await this.replace('video', track);
    } else {
      this.sharing = false;
      await this.replace('video', this.cameraOff ? null : this.camera);
    }
    this.changed();
  }

  /** Counters per peer device (`getStats`). */
  async stats(): Promise<CallStats[]> {
    const out: CallStats[] = [];
    for (const [k, l] of this.links) {
      const s: CallStats = {
        key: k,
        bytesReceived: 0,
        framesDecoded: 0,
        audioPacketsSent: 0,
        audioPacketsReceived: 0,
        connected: l.connected,
      };
      (await l.pc.getStats()).forEach((r: Record<string, unknown>) => {
        const n = (f: string): number => {
          const x = r[f];
          return typeof x === 'number' ? x : 0;
        };
        if (r.type === 'inbound-rtp') {
          s.bytesReceived += n('bytesReceived');
          s.framesDecoded += n('framesDecoded');
          if (r.kind === 'audio') s.audioPacketsReceived += n('packetsReceived');
        }
        if (r.type === 'outbound-rtp' && r.kind === 'audio') s.audioPacketsSent += n('packetsSent');
      });
      out.push(s);
    }
    return out;
  }

  // ---- signalling in ----

  private async onSignal(s: CallSignal): Promise<void> {
    const p = s.payload;
    const k = key(s.user, s.device);
    switch (p.kind) {
      case 'call-offer':
        if (s.stale) return;
        if (this.finished.has(p.callId))
          return this.signalTo(s.user, s.device, p.callId, 'call-hangup', 'answered-elsewhere');
        if (this.phase !== 'idle' && p.callId !== this.callId)
          return this.signalTo(s.user, s.device, p.callId, 'call-busy');
        if (this.phase === 'idle') {
          this.reset(p.callId, s.conversationId, p.media, s.user);
          this.group = s.conversationId.startsWith('group:')
            ? parseConversationId(s.conversationId).ref
            : null;
          this.phase = 'ringing';
          this.offers.set(k, {
            user: s.user,
            device: s.device,
            sdp: p.sdp,
            fingerprint: p.fingerprint,
            ice: [],
          });
          this.armRing(() => void this.end('missed'));
          this.changed();
          return;
        }
        // The same call: a 1:1 call takes no offers from anyone else.
        if (this.group === null && s.user !== parseConversationId(this.conversationId).ref) return;
        if (this.phase === 'ringing') {
          this.offers.set(k, {
            user: s.user,
            device: s.device,
            sdp: p.sdp,
            fingerprint: p.fingerprint,
            ice: [],
          });
          return;
        }
        {
          const mine = this.links.get(k);
          if (mine?.offered && !mine.remoteSet) {
            // Both offered at once: the smaller address answers, the other waits for that answer.
            if (key(this.me.username, this.me.deviceId) > k) return;
            this.close(k);
          }
          await this.answer({
            user: s.user,
            device: s.device,
            sdp: p.sdp,
            fingerprint: p.fingerprint,
            ice: [],
          });
        }
        return;
      case 'call-answer': {
        if (p.callId !== this.callId) return;
        const l = this.links.get(k);
        if (!l?.offered || l.remoteSet) return;
        l.fingerprint = p.fingerprint;
        await l.pc.setRemoteDescription({ type: 'answer', sdp: p.sdp });
        l.remoteSet = true;
        // A candidate of a connection the peer dropped (glare) does not fit: ignored.
        for (const c of l.queued.splice(0)) await l.pc.addIceCandidate(c).catch(() => undefined);
        if (this.phase === 'outgoing') {
          this.phase = 'active';
          clearTimeout(this.ringTimer);
        }
        // Answered on this device of the user: stop ringing on their other devices.
        for (const other of [...this.links.values()]) {
          if (other.user !== s.user || other.device === s.device || other.remoteSet) continue;
          await this.signal(other.user, other.device, 'call-hangup', 'answered-elsewhere');
          this.close(key(other.user, other.device));
        }
        this.changed();
        return;
      }
      case 'call-ice': {
        if (p.callId !== this.callId) return;
        const l = this.links.get(k);
        if (!l) {
          // Candidates for an offer still ringing here: kept for when it is answered.
          const o = this.offers.get(k);
          if (o) o.ice.push(...p.candidates);
          return;
        }
        for (const c of p.candidates) {
          if (l.remoteSet) await l.pc.addIceCandidate(c).catch(() => undefined);
          else l.queued.push(c);
        }
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
        this.close(k);
        if (p.kind === 'call-busy' && this.links.size === 0) this.error = 'busy';
        // A 1:1 callee that declines on one device declines the call.
        const declined = p.kind === 'call-hangup' && p.reason === 'declined' && this.group === null;
        if (this.links.size === 0 || (declined && this.connectedAt === null)) {
          if (declined) {
            for (const l of [...this.links.values()])
              await this.signal(l.user, l.device, 'call-hangup', 'ended');
          }
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
    this.muted = false;
    this.cameraOff = false;
    this.sharing = false;
    this.connectedAt = null;
    this.startedAt = Date.now();
  }

  private armRing(then: () => void): void {
    clearTimeout(this.ringTimer);
    this.ringTimer = setTimeout(then, CALL_RING_MS);
  }

  /** Camera and microphone, and the ICE servers, once per call. */
  private async prepare(): Promise<void> {
    if (this.local !== null) return;
    this.ice = await this.signalling.iceServers().catch(() => []);
    this.local = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: this.media === 'video',
    });
    this.camera = this.local.getVideoTracks()[0] ?? null;
    this.changed();
  }

  private link(user: string, device: string, offered: boolean): PeerLink {
    const pc = new RTCPeerConnection({ iceServers: this.ice });
    const l: PeerLink = {
      user,
      device,
      pc,
      offered,
      fingerprint: null,
      remoteSet: false,
      queued: [],
      described: false,
      pending: [],
      connected: false,
      stream: new MediaStream(),
    };
    const k = key(user, device);
    this.links.set(k, l);
    // The offerer adds its media here; the answerer attaches it to the offer's transceivers
    // (answer()), since transceivers added before the remote offer would not be matched to it.
    if (offered)
      for (const t of this.local?.getTracks() ?? [])
        pc.addTransceiver(this.sending(t) ?? t.kind, {
          direction: 'sendrecv',
          streams: [this.local!],
        });
    pc.addEventListener('track', (e) => {
      l.stream.addTrack(e.track);
      this.changed();
    });
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate === null) return;
      const c = e.candidate.toJSON();
      const init = {
        candidate: c.candidate ?? '',
        sdpMid: c.sdpMid ?? null,
        sdpMLineIndex: c.sdpMLineIndex ?? null,
      };
      if (l.described) void this.sendIce(l, [init]);
      else l.pending.push(init);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (this.links.get(k) !== l) return;
      if (pc.connectionState === 'connected' && !l.connected) void this.connected(l);
      if (pc.connectionState === 'failed') {
        void this.signal(user, device, 'call-hangup', 'failed');
        this.close(k);
        if (this.links.size === 0 && this.phase === 'active') void this.end('ended');
        else this.changed();
      }
    });
    return l;
  }

  /** The media connected: check the DTLS certificate against the decrypted SDP first. */
  private async connected(l: PeerLink): Promise<void> {
    const got = await remoteFingerprint(l.pc);
    if (got === null || got !== l.fingerprint) {
      this.error = 'fingerprint';
      await this.signal(l.user, l.device, 'call-hangup', 'failed');
      this.close(key(l.user, l.device));
      if (this.links.size === 0) await this.end(this.connectedAt === null ? 'unanswered' : 'ended');
      else this.changed();
      return;
    }
    l.connected = true;
    this.connectedAt ??= Date.now();
    this.changed();
  }

  private async offerTo(user: string, device: string): Promise<void> {
    const l = this.link(user, device, true);
    const offer = await l.pc.createOffer();
    await l.pc.setLocalDescription(offer);
    const sdp = l.pc.localDescription!.sdp;
    await this.signalling.send(user, device, {
      kind: 'call-offer',
      callId: this.callId,
      media: this.media,
      sdp,
      fingerprint: ownFingerprint(sdp),
      ...(this.group !== null ? { conversation: `group:${this.group}` } : {}),
    });
    await this.described(l);
  }

  private async answer(o: PendingOffer): Promise<void> {
    const l = this.link(o.user, o.device, false);
    l.fingerprint = o.fingerprint;
    await l.pc.setRemoteDescription({ type: 'offer', sdp: o.sdp });
    l.remoteSet = true;
    for (const c of o.ice) await l.pc.addIceCandidate(c).catch(() => undefined);
    for (const tx of l.pc.getTransceivers()) {
      const t = this.local?.getTracks().find((x) => x.kind === tx.receiver.track.kind);
      if (!t) continue;
      tx.direction = 'sendrecv';
      tx.sender.setStreams(this.local!);
      await tx.sender.replaceTrack(this.sending(t));
    }
    const answer = await l.pc.createAnswer();
    await l.pc.setLocalDescription(answer);
    const sdp = l.pc.localDescription!.sdp;
    await this.signalling.send(o.user, o.device, {
      kind: 'call-answer',
      callId: this.callId,
      sdp,
      fingerprint: ownFingerprint(sdp),
    });
    await this.described(l);
    this.changed();
  }

  /** What a new sender sends of `t`: nothing while muted, camera off or sharing the screen. */
  private sending(t: MediaStreamTrack): MediaStreamTrack | null {
    if (t.kind === 'audio') return this.muted ? null : t;
    return this.cameraOff || this.sharing ? null : t;
  }

  /** Our description went out: the candidates gathered meanwhile follow it. */
  private async described(l: PeerLink): Promise<void> {
    l.described = true;
    const batch = l.pending.splice(0);
    for (let i = 0; i < batch.length; i += 20) await this.sendIce(l, batch.slice(i, i + 20));
  }

  private async sendIce(l: PeerLink, candidates: RTCIceCandidateInit[]): Promise<void> {
    await this.signalling
      .send(l.user, l.device, {
        kind: 'call-ice',
        callId: this.callId,
        candidates: candidates.map((c) => ({
          candidate: c.candidate ?? '',
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
        })),
      })
      .catch(() => undefined);
  }

  private async replace(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    for (const l of this.links.values()) {
      for (const tx of l.pc.getTransceivers()) {
        if (tx.receiver.track.kind === kind) await tx.sender.replaceTrack(track);
      }
    }
  }

  private signal(
    user: string,
    device: string,
    kind: 'call-hangup',
    reason: 'ended' | 'declined' | 'answered-elsewhere' | 'timeout' | 'failed',
  ): Promise<void> {
    return this.signalTo(user, device, this.callId, kind, reason);
  }

  private async signalTo(
    user: string,
    device: string,
    callId: string,
    kind: 'call-hangup' | 'call-busy',
    reason?: 'ended' | 'declined' | 'answered-elsewhere' | 'timeout' | 'failed',
  ): Promise<void> {
    const input: CallInput =
      kind === 'call-busy' ? { kind, callId } : { kind, callId, reason: reason ?? 'ended' };
    await this.signalling.send(user, device, input).catch(() => undefined);
  }

  private close(k: string): void {
    const l = this.links.get(k);
    if (!l) return;
    this.links.delete(k);
    l.pc.close();
  }

  /** The call is over here: close everything, write its line. */
  private async end(
    how: 'missed' | 'ended' | 'declined' | 'unanswered' | 'answered',
  ): Promise<void> {
    if (this.phase === 'idle') return;
    clearTimeout(this.ringTimer);
    const callId = this.callId;
    const duration = this.connectedAt === null ? undefined : Date.now() - this.connectedAt;
    for (const k of [...this.links.keys()]) this.close(k);
    this.offers.clear();
    for (const t of this.local?.getTracks() ?? []) t.stop();
    this.local = null;
    this.camera = null;
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

/** The one fingerprint our SDP states (the wire decoder checks that all lines agree). */
function ownFingerprint(sdp: string): string {
  const f = sdpFingerprints(sdp)[0];
  if (f === undefined) throw new Error('local description has no DTLS fingerprint');
  return f;
}

/** `sha-256 AB:…` of the certificate the browser accepted in the DTLS handshake, or null. */
async function remoteFingerprint(pc: RTCPeerConnection): Promise<string | null> {
  const stats = await pc.getStats();
  let certId: string | null = null;
  stats.forEach((r: Record<string, unknown>) => {
    if (r.type === 'transport' && typeof r.remoteCertificateId === 'string')
      certId = r.remoteCertificateId;
  });
  if (certId === null) return null;
  const cert = stats.get(certId) as
    { fingerprint?: string; fingerprintAlgorithm?: string } | undefined;
  if (!cert?.fingerprint || !cert.fingerprintAlgorithm) return null;
  return `${cert.fingerprintAlgorithm.toLowerCase()} ${cert.fingerprint.toUpperCase()}`;
}
