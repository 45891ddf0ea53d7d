/**
 * One peer connection of a call (PROTOCOL.md §12.1): the RTCPeerConnection to one device, its
 * offer or answer, trickle ICE both ways (candidates wait for the description they belong to),
 * the DTLS fingerprint check after the media connects, and its `getStats` counters. The call
 * manager owns the links and decides who offers; a link only speaks to its one device through
 * the `send` it is given.
 */
import { sdpFingerprints } from '@sotto/crypto/wire';
import type { CallInput } from './messenger.ts';
import type { CallMedia } from './call-media.ts';

/** Per-peer counters from `getStats`, for the call view and the tests. */
export interface CallStats {
  key: string;
  bytesReceived: number;
  framesDecoded: number;
  audioPacketsSent: number;
  audioPacketsReceived: number;
  connected: boolean;
}

/** The address of one peer device: `user|device` (also the order of the glare rule). */
export const linkKey = (user: string, device: string): string => `${user}|${device}`;

/** An offer that rang here and was not answered yet. */
export interface PendingOffer {
  user: string;
  device: string;
  sdp: string;
  fingerprint: string;
  /** ICE candidates that came with it before it was answered. */
  ice: RTCIceCandidateInit[];
}

/** What a link needs from its call. */
export interface LinkDeps {
  callId: string;
  iceServers: RTCIceServer[];
  media: CallMedia;
  /** Send one signalling payload to this link's device. */
  send(input: CallInput): Promise<void>;
  /** A remote track arrived (the view shows it). */
  onTrack(): void;
  /** The connection state changed to `connected` or `failed`. */
  onState(link: PeerLink, state: 'connected' | 'failed'): void;
}

/** One peer device of the call. */
export class PeerLink {
  readonly key: string;
  readonly pc: RTCPeerConnection;
  /** The peer's media. */
  readonly stream = new MediaStream();
  /** Their fingerprint from the decrypted SDP (null until we have their description). */
  fingerprint: string | null = null;
  remoteSet = false;
  /** The media connected and its certificate matched {@link fingerprint}. */
  connected = false;
  /** Their candidates that came before their description. */
  private readonly queued: RTCIceCandidateInit[] = [];
  /** Our candidates wait until our offer/answer went out. */
  private described = false;
  private readonly pending: RTCIceCandidateInit[] = [];

  constructor(
    readonly user: string,
    readonly device: string,
    /** We sent the offer and wait for the answer. */
    readonly offered: boolean,
    private readonly deps: LinkDeps,
  ) {
    this.key = linkKey(user, device);
    const pc = (this.pc = new RTCPeerConnection({ iceServers: deps.iceServers }));
    const local = deps.media.local;
    // The offerer adds its media here; the answerer attaches it to the offer's transceivers
    // (answer()), since transceivers added before the remote offer would not be matched to it.
    if (offered && local)
      for (const t of local.getTracks())
        pc.addTransceiver(deps.media.sending(t) ?? t.kind, {
          direction: 'sendrecv',
          streams: [local],
        });
    pc.addEventListener('track', (e) => {
      this.stream.addTrack(e.track);
      deps.onTrack();
    });
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate === null) return;
      const init = toInit(e.candidate.toJSON());
      if (this.described) void this.sendIce([init]);
      else this.pending.push(init);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected' && !this.connected) deps.onState(this, 'connected');
      if (pc.connectionState === 'failed') deps.onState(this, 'failed');
    });
  }

  /** Make our offer and send it (`conversation` names a group call). */
  async offer(media: 'audio' | 'video', conversation: string | null): Promise<void> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const sdp = this.pc.localDescription!.sdp;
    await this.deps.send({
      kind: 'call-offer',
      callId: this.deps.callId,
      media,
      sdp,
      fingerprint: ownFingerprint(sdp),
      ...(conversation !== null ? { conversation } : {}),
    });
    await this.flush();
  }

  /** Take their offer (and the candidates that came with it), answer with our media. */
  async answer(o: PendingOffer): Promise<void> {
    this.fingerprint = o.fingerprint;
    await this.pc.setRemoteDescription({ type: 'offer', sdp: o.sdp });
    this.remoteSet = true;
    for (const c of o.ice) await this.pc.addIceCandidate(c).catch(() => undefined);
    const local = this.deps.media.local;
    for (const tx of this.pc.getTransceivers()) {
      const t = local?.getTracks().find((x) => x.kind === tx.receiver.track.kind);
      if (!t || !local) continue;
      tx.direction = 'sendrecv';
      tx.sender.setStreams(local);
      await tx.sender.replaceTrack(this.deps.media.sending(t));
    }
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    const sdp = this.pc.localDescription!.sdp;
    await this.deps.send({
      kind: 'call-answer',
      callId: this.deps.callId,
      sdp,
      fingerprint: ownFingerprint(sdp),
    });
    await this.flush();
  }

  /** Their answer to our offer; false when it does not fit (not ours, or answered already). */
  async answered(sdp: string, fingerprint: string): Promise<boolean> {
    if (!this.offered || this.remoteSet) return false;
    this.fingerprint = fingerprint;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.remoteSet = true;
    // A candidate of a connection the peer dropped (glare) does not fit: ignored.
    for (const c of this.queued.splice(0)) await this.pc.addIceCandidate(c).catch(() => undefined);
    return true;
  }

  /** Their candidates: added now, or once their description is in. */
  async candidates(list: RTCIceCandidateInit[]): Promise<void> {
    for (const c of list) {
      if (this.remoteSet) await this.pc.addIceCandidate(c).catch(() => undefined);
      else this.queued.push(c);
    }
  }

  /**
   * The media connected: `ok` when the DTLS certificate the browser accepted is the one the
   * decrypted SDP named (then the link counts as connected), `mismatch` when it is another,
   * `unknown` when the browser named none in time.
   */
  async verify(): Promise<'ok' | 'unknown' | 'mismatch'> {
    // Chromium answers getStats from a cache up to 50 ms old: a report taken just before the
    // handshake finished names no remote certificate yet. Unknown is asked again (bounded), only
    // a different certificate is a mismatch.
    const algorithm = this.fingerprint?.split(' ')[0] ?? 'sha-256';
    let got = await remoteFingerprint(this.pc, algorithm);
    // 50 × 100 ms: under CPU load a stats report without the certificate came back for more
    // than 2 s after the connection (a call hung up as `fingerprint`, 1 in 10 at load 17).
    for (let i = 0; got === null && i < 50 && this.pc.connectionState === 'connected'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      got = await remoteFingerprint(this.pc, algorithm);
    }
    if (got === null) return 'unknown';
    if (got !== this.fingerprint) return 'mismatch';
    this.connected = true;
    return 'ok';
  }

  /** Put `track` on our sender of that kind. */
  async replace(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    for (const tx of this.pc.getTransceivers())
      if (tx.receiver.track.kind === kind) await tx.sender.replaceTrack(track);
  }

  /** Counters of this link (`getStats`). */
  async stats(): Promise<CallStats> {
    const s: CallStats = {
      key: this.key,
      bytesReceived: 0,
      framesDecoded: 0,
      audioPacketsSent: 0,
      audioPacketsReceived: 0,
      connected: this.connected,
    };
    (await this.pc.getStats()).forEach((r: Record<string, unknown>) => {
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
    return s;
  }

  close(): void {
    this.pc.close();
  }

  /** Our description went out: the candidates gathered meanwhile follow it. */
  private async flush(): Promise<void> {
    this.described = true;
    const batch = this.pending.splice(0);
    for (let i = 0; i < batch.length; i += 20) await this.sendIce(batch.slice(i, i + 20));
  }

  private async sendIce(candidates: RTCIceCandidateInit[]): Promise<void> {
    await this.deps
      .send({ kind: 'call-ice', callId: this.deps.callId, candidates: candidates.map(toInit) })
      .catch(() => undefined);
  }
}

/** A candidate in the wire's shape (every field present). */
function toInit(c: RTCIceCandidateInit): {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
} {
  return {
    candidate: c.candidate ?? '',
    sdpMid: c.sdpMid ?? null,
    sdpMLineIndex: c.sdpMLineIndex ?? null,
  };
}

/** The one fingerprint our SDP states (the wire decoder checks that all lines agree). */
function ownFingerprint(sdp: string): string {
  const f = sdpFingerprints(sdp)[0];
  if (f === undefined) throw new Error('local description has no DTLS fingerprint');
  return f;
}

/** WebCrypto's names for the SDP's fingerprint hash functions (RFC 8122). */
const DIGESTS: Record<string, string> = {
  'sha-1': 'SHA-1',
  'sha-256': 'SHA-256',
  'sha-384': 'SHA-384',
  'sha-512': 'SHA-512',
};

/**
 * `sha-256 AB:…` (or the SDP's other `algorithm`) of the certificate the browser accepted in the
 * DTLS handshake, or null while it names none. First from the DTLS transport itself
 * (`getRemoteCertificates`, Chromium: the certificate as soon as DTLS is up), else from
 * `getStats` (a cached report, which can lag the handshake).
 */
async function remoteFingerprint(pc: RTCPeerConnection, algorithm: string): Promise<string | null> {
  const transport = [...pc.getSenders(), ...pc.getReceivers()].find((x) => x.transport)
    ?.transport as (RTCDtlsTransport & { getRemoteCertificates?: () => ArrayBuffer[] }) | undefined;
  const der = transport?.state === 'connected' ? transport.getRemoteCertificates?.()[0] : undefined;
  const digest = DIGESTS[algorithm];
  if (der !== undefined && digest !== undefined) {
    const hash = new Uint8Array(await crypto.subtle.digest(digest, der));
    const hex = [...hash].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
    return `${algorithm} ${hex}`;
  }
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
