/**
 * A DTLS-terminating man in the middle inside a callee's page, for the media certificate test in
 * test/web/calls.test.ts (docs/SECURITY.md "Calls"). It stands for whatever could rewrite the
 * descriptions a page's RTCPeerConnection is given after the signalling was decrypted: an
 * injected script, an extension, an SDP-munging bug.
 *
 * Installed as an init script, it wraps RTCPeerConnection so that a connection answering an
 * offer never talks to the caller. Two relay connections in the page stand between them:
 * - `outer` takes the caller's real offer and answers it with its own certificate; the app's
 *   connection reports that answer as its `localDescription`, so the app's encrypted
 *   `call-answer` names the relay and the caller's own checks pass;
 * - `inner` offers to the app's connection with a third certificate, put in place of the
 *   caller's offer, so the browser's DTLS check against the remote description passes too.
 * The caller's candidates go to `outer`, the app's to `inner`; each relay forwards the tracks
 * the other receives. Only a check of the certificate against the decrypted offer's
 * fingerprint (call-link.ts `verify`) can tell.
 */

/** What the relay saw, on `window.__mitm`. */
export interface MitmReport {
  /** Offers taken over. */
  offers: number;
  /** The fingerprint the caller's offer named (the one in the encrypted payload). */
  callerFingerprint: string;
  /** The fingerprint the app's connection was given instead (the relay's certificate). */
  relayFingerprint: string;
  /** The relay connection to the app reached `connected`: DTLS completed with its certificate. */
  innerConnected: boolean;
}

declare global {
  interface Window {
    __mitm?: MitmReport;
  }
}

/**
 * The init script (serialised by Playwright: self-contained, no imports or helpers from this
 * module).
 */
export function installDtlsMitm(): void {
  const P = RTCPeerConnection.prototype;
  // The promise forms of the originals (the callback overloads are not used).
  type Method<A> = (this: RTCPeerConnection, arg: A) => Promise<void>;
  const setRemote = P.setRemoteDescription as Method<RTCSessionDescriptionInit>;
  const setLocal = P.setLocalDescription as Method<RTCLocalSessionDescriptionInit | undefined>;
  const addIce = P.addIceCandidate as Method<RTCIceCandidateInit | undefined>;
  const localOf = Object.getOwnPropertyDescriptor(P, 'localDescription')!.get!;
  const report: MitmReport = {
    offers: 0,
    callerFingerprint: '',
    relayFingerprint: '',
    innerConnected: false,
  };
  window.__mitm = report;
  interface Relay {
    inner: RTCPeerConnection;
    outer: RTCPeerConnection;
    /** Resolves once `inner` has the app's answer (its candidates wait for it). */
    answered: Promise<void>;
    answer: () => void;
  }
  const relays = new WeakMap<RTCPeerConnection, Relay>();
  const fingerprint = (sdp: string): string => /a=fingerprint:(\S+ \S+)/.exec(sdp)?.[1] ?? '';
  // Every candidate in the description: the relays do not trickle.
  const gathered = (pc: RTCPeerConnection): Promise<void> =>
    new Promise((resolve) => {
      const done = (): boolean => pc.iceGatheringState === 'complete';
      if (done()) return resolve();
      pc.addEventListener('icegatheringstatechange', () => {
        if (done()) resolve();
      });
    });

  P.setRemoteDescription = async function (
    this: RTCPeerConnection,
    desc: RTCSessionDescriptionInit,
  ): Promise<void> {
    if (desc.type !== 'offer' || desc.sdp === undefined) return setRemote.call(this, desc);
    const outer = new RTCPeerConnection();
    const inner = new RTCPeerConnection();
    inner.addEventListener('connectionstatechange', () => {
      if (inner.connectionState === 'connected') report.innerConnected = true;
    });
    await setRemote.call(outer, desc);
    // The same media sections towards the app, each relaying what the other side receives.
    for (const tx of outer.getTransceivers()) {
      const twin = inner.addTransceiver(tx.receiver.track.kind, { direction: 'sendrecv' });
      tx.direction = 'sendrecv';
      await tx.sender.replaceTrack(twin.receiver.track);
      await twin.sender.replaceTrack(tx.receiver.track);
    }
    await setLocal.call(inner, await inner.createOffer());
    await setLocal.call(outer, await outer.createAnswer());
    await Promise.all([gathered(inner), gathered(outer)]);
    let answer = (): void => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    relays.set(this, { inner, outer, answered, answer });
    this.addEventListener('icecandidate', (e) => {
      const c = e.candidate;
      if (c !== null) void answered.then(() => inner.addIceCandidate(c));
    });
    const forged = localOf.call(inner) as RTCSessionDescription;
    report.offers += 1;
    report.callerFingerprint = fingerprint(desc.sdp);
    report.relayFingerprint = fingerprint(forged.sdp);
    return setRemote.call(this, { type: 'offer', sdp: forged.sdp });
  };

  P.setLocalDescription = async function (
    this: RTCPeerConnection,
    desc?: RTCLocalSessionDescriptionInit,
  ): Promise<void> {
    await setLocal.call(this, desc);
    const relay = relays.get(this);
    if (!relay) return;
    await setRemote.call(relay.inner, localOf.call(this) as RTCSessionDescription);
    relay.answer();
  };

  // The caller's candidates belong to the relay that answered the caller.
  P.addIceCandidate = function (
    this: RTCPeerConnection,
    candidate?: RTCIceCandidateInit | null,
  ): Promise<void> {
    return addIce.call(relays.get(this)?.outer ?? this, candidate ?? undefined);
  };

  // What the app sends the caller is the relay's answer, not its own.
  Object.defineProperty(P, 'localDescription', {
    configurable: true,
    enumerable: true,
    get(this: RTCPeerConnection): RTCSessionDescription | null {
      return localOf.call(relays.get(this)?.outer ?? this) as RTCSessionDescription | null;
    },
  });
}
