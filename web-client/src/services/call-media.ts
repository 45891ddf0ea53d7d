/**
 * The local media of a call (docs/WEB.md "Calls"): camera and microphone, and what the user does
 * to them — mute, camera off, switch device, share the screen. What goes out to the peers is
 * decided here ({@link CallMedia.sending}); putting a track on every peer connection is the
 * mesh's, handed in as `apply`, so this module holds no connections.
 */

/** Puts `track` (or nothing) on every peer connection's sender of that kind. */
export type ApplyTrack = (kind: 'audio' | 'video', track: MediaStreamTrack | null) => Promise<void>;

/** Camera, microphone and screen of one call. */
export class CallMedia {
  /** Camera and microphone (null outside a call). */
  local: MediaStream | null = null;
  muted = false;
  cameraOff = false;
  sharing = false;
  /** The camera track, kept while the screen is shared or the camera is off. */
  private camera: MediaStreamTrack | null = null;

  constructor(
    private readonly apply: ApplyTrack,
    private readonly changed: () => void,
  ) {}

  /** Open camera (video calls) and microphone, once per call. */
  async open(media: 'audio' | 'video'): Promise<void> {
    if (this.local !== null) return;
    this.local = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: media === 'video',
    });
    this.camera = this.local.getVideoTracks()[0] ?? null;
    this.changed();
  }

  /** A new call starts unmuted, camera on, not sharing. */
  reset(): void {
    this.muted = false;
    this.cameraOff = false;
    this.sharing = false;
  }

  /** Stop every track (the call is over). */
  close(): void {
    for (const t of this.local?.getTracks() ?? []) t.stop();
    this.local = null;
    this.camera = null;
  }

  /** What a new sender sends of `t`: nothing while muted, camera off or sharing the screen. */
  sending(t: MediaStreamTrack): MediaStreamTrack | null {
    if (t.kind === 'audio') return this.muted ? null : t;
    return this.cameraOff || this.sharing ? null : t;
  }

  /** Mute or unmute the microphone: a muted call sends no audio packets at all. */
  async setMuted(muted: boolean): Promise<void> {
    this.muted = muted;
    const track = this.local?.getAudioTracks()[0] ?? null;
    await this.apply('audio', muted ? null : track);
    this.changed();
  }

  /** Turn the camera off (nothing sent) or on again. */
  async setCameraOff(off: boolean): Promise<void> {
    this.cameraOff = off;
    if (!this.sharing) await this.apply('video', off ? null : this.camera);
    this.changed();
  }

  /** Switch to the next camera or microphone. */
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
      if (!this.cameraOff && !this.sharing) await this.apply('video', track);
    } else if (!this.muted) await this.apply('audio', track);
    this.changed();
  }

  /** Share the screen instead of the camera, or stop sharing. */
  async setSharing(on: boolean): Promise<void> {
    if (on) {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const track = s.getVideoTracks()[0]!;
      track.addEventListener('ended', () => void this.setSharing(false));
      this.sharing = true;
      await this.apply('video', track);
    } else {
      this.sharing = false;
      await this.apply('video', this.cameraOff ? null : this.camera);
    }
    this.changed();
  }
}
