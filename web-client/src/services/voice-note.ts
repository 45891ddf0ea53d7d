/**
 * Voice notes (PROTOCOL.md §12 "Voice notes"): recording with the page's MediaRecorder (Opus in
 * WebM, or in Ogg where WebM cannot be recorded), and the sender-side analysis the `file`
 * payload carries: the length and a waveform of at most {@link MAX_WAVEFORM_SAMPLES} peak
 * levels, computed from the decoded recording so the receiver draws it without decoding audio.
 * Media devices and decoding are injected ({@link RecorderDeps}), so the logic runs in tests
 * without a microphone.
 */
import type { VOICE_NOTE_MIMES } from '@sotto/client/payload';
import { MAX_VOICE_NOTE_MS, MAX_WAVEFORM_SAMPLES, type VoiceNote } from '@sotto/client/payload';
import { durationText } from './locale-format.ts';
import { uiText } from './ui-strings.ts';

/** Waveform samples the web client computes (bars drawn by `<voice-note>`). */
export const WAVEFORM_SAMPLES = 48;

/** Opus bit rate asked of the recorder: speech at 32 kbit/s is ~240 KB a minute. */
export const VOICE_BITS_PER_SECOND = 32_000;

/** Recorder formats tried in order, each with the container the payload declares. */
const FORMATS: readonly { recorder: string; mime: (typeof VOICE_NOTE_MIMES)[number] }[] = [
  { recorder: 'audio/webm;codecs=opus', mime: 'audio/webm' },
  { recorder: 'audio/ogg;codecs=opus', mime: 'audio/ogg' },
];

/**
 * Peak levels of `samples` equal slices of a mono signal, scaled so the loudest slice is 255
 * (a quiet recording still draws a visible outline; silence stays 0).
 */
export function waveformOf(signal: Float32Array, samples = WAVEFORM_SAMPLES): Uint8Array {
  const n = Math.max(1, Math.min(samples, MAX_WAVEFORM_SAMPLES));
  const peaks = new Float32Array(n);
  if (signal.length === 0) return new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * signal.length) / n);
    const to = Math.max(from + 1, Math.floor(((i + 1) * signal.length) / n));
    let peak = 0;
    for (let j = from; j < to && j < signal.length; j++)
      peak = Math.max(peak, Math.abs(signal[j]!));
    peaks[i] = peak;
  }
  const max = Math.max(...peaks);
  return Uint8Array.from(peaks, (p) => (max === 0 ? 0 : Math.round((p / max) * 255)));
}

/** base64url (no padding) of `bytes`. */
export function toBase64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The levels (0..1) of a stored voice note's waveform; empty when it is not well-formed. */
export function waveformLevels(waveform: unknown): number[] {
  if (typeof waveform !== 'string' || !/^[A-Za-z0-9_-]+$/.test(waveform)) return [];
  const b64 = waveform.replace(/-/g, '+').replace(/_/g, '/');
  try {
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return Array.from(bin.slice(0, MAX_WAVEFORM_SAMPLES), (c) => c.charCodeAt(0) / 255);
  } catch {
    return [];
  }
}

/** The `voice` field of a stored `file` body, when it is a voice note. */
export function voiceOf(body: Record<string, unknown>): VoiceNote | undefined {
  const v = body.voice;
  if (typeof v !== 'object' || v === null) return undefined;
  const { durationMs, waveform } = v as Record<string, unknown>;
  if (typeof durationMs !== 'number' || typeof waveform !== 'string') return undefined;
  return { durationMs, waveform };
}

/** "m:ss" of a duration in ms, in the browser's digits (one definition: `durationText`). */
export const clock = (ms: number): string => durationText(ms);

/** What recording needs from the page. */
export interface RecorderDeps {
  microphone(): Promise<MediaStream>;
  isTypeSupported(type: string): boolean;
  recorder(stream: MediaStream, options: MediaRecorderOptions): MediaRecorder;
  /** Decode a recording to its first channel and length; rejects when it cannot. */
  decode(data: Blob): Promise<{ signal: Float32Array; durationMs: number }>;
  now(): number;
}

const browserDeps: RecorderDeps = {
  microphone: () => navigator.mediaDevices.getUserMedia({ audio: true }),
  isTypeSupported: (t) => typeof MediaRecorder !== 'undefined' && MediaRecorder.isTypeSupported(t),
  recorder: (stream, options) => new MediaRecorder(stream, options),
  async decode(data) {
    const ctx = new OfflineAudioContext(1, 1, 48_000);
    const buffer = await ctx.decodeAudioData(await data.arrayBuffer());
    return { signal: buffer.getChannelData(0), durationMs: Math.round(buffer.duration * 1000) };
  },
  now: () => performance.now(),
};

/** A finished recording, ready to send as a `file` with `voice`. */
export interface RecordedNote {
  file: File;
  voice: VoiceNote;
}

/**
 * One recording from the microphone. `start` asks for the microphone (the browser's permission
 * prompt); `finish` stops and analyses it; `cancel` stops and drops it. Recording stops by itself
 * at {@link MAX_VOICE_NOTE_MS} (then `onLimit` runs, and `finish` returns what was recorded).
 */
export class VoiceRecording {
  private stream: MediaStream | undefined;
  private rec: MediaRecorder | undefined;
  private chunks: Blob[] = [];
  private startedAt = 0;
  private stoppedAt = 0;
  private stopped: Promise<void> = Promise.resolve();
  private limit: ReturnType<typeof setTimeout> | undefined;
  private mime: (typeof VOICE_NOTE_MIMES)[number] = 'audio/webm';

  constructor(
    private readonly onLimit: () => void = () => undefined,
    private readonly deps: RecorderDeps = browserDeps,
  ) {}

  /** Milliseconds recorded so far. */
  get elapsedMs(): number {
    if (this.startedAt === 0) return 0;
    return (this.stoppedAt || this.deps.now()) - this.startedAt;
  }

  /** Open the microphone and start recording (rejects when it is refused or missing). */
  async start(): Promise<void> {
    const format = FORMATS.find((f) => this.deps.isTypeSupported(f.recorder));
    if (format === undefined) throw new Error(uiText('voice.noOpus'));
    this.mime = format.mime;
    this.stream = await this.deps.microphone();
    const rec = this.deps.recorder(this.stream, {
      mimeType: format.recorder,
      audioBitsPerSecond: VOICE_BITS_PER_SECOND,
    });
    this.rec = rec;
    this.stopped = new Promise<void>((resolve) => {
      rec.addEventListener('stop', () => resolve(), { once: true });
    });
    rec.addEventListener('dataavailable', (e: BlobEvent) => {
      if (e.data.size > 0) this.chunks.push(e.data);
    });
    rec.start(250);
    this.startedAt = this.deps.now();
    this.limit = setTimeout(() => {
      this.halt();
      this.onLimit();
    }, MAX_VOICE_NOTE_MS);
  }

  private halt(): void {
    clearTimeout(this.limit);
    if (this.stoppedAt === 0 && this.startedAt !== 0) this.stoppedAt = this.deps.now();
    if (this.rec !== undefined && this.rec.state !== 'inactive') this.rec.stop();
    for (const t of this.stream?.getTracks() ?? []) t.stop();
  }

  /** Stop and drop the recording. */
  cancel(): void {
    this.halt();
    this.chunks = [];
  }

  /**
   * Stop and return the note: its bytes, its length and waveform from the decoded audio (the
   * recorder's clock when the page cannot decode what it recorded). `undefined` when nothing
   * was recorded.
   */
  async finish(): Promise<RecordedNote | undefined> {
    this.halt();
    await this.stopped;
    const data = new Blob(this.chunks, { type: this.mime });
    this.chunks = [];
    if (data.size === 0) return undefined;
    let durationMs = Math.round(this.elapsedMs);
    let waveform: Uint8Array = new Uint8Array(WAVEFORM_SAMPLES);
    try {
      const decoded = await this.deps.decode(data);
      if (decoded.durationMs > 0) durationMs = decoded.durationMs;
      waveform = waveformOf(decoded.signal);
    } catch {
      // Not decodable here: the note still plays elsewhere; it is drawn flat.
    }
    durationMs = Math.min(MAX_VOICE_NOTE_MS, Math.max(1, durationMs));
    const ext = this.mime === 'audio/ogg' ? 'ogg' : 'webm';
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    return {
      file: new File([data], `voice-note-${stamp}.${ext}`, { type: this.mime }),
      voice: { durationMs, waveform: toBase64url(waveform) },
    };
  }
}
