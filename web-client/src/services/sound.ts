/**
 * The optional notification sound: a short two-note chime synthesized with WebAudio (no audio
 * file to download). Off unless the user turns it on in Settings; bursts ring once.
 */

/** The part of an `AudioContext` the chime needs (injected in tests). */
export interface ToneContext {
  readonly currentTime: number;
  readonly state: string;
  readonly destination: AudioNode;
  resume(): Promise<void>;
  createOscillator(): OscillatorNode;
  createGain(): GainNode;
}

/** Shortest gap between two chimes (ms): a burst of messages rings once. */
export const TONE_GAP_MS = 1500;

/** Notes of the chime (Hz) and how long each lasts (s). */
const NOTES = [880, 1320] as const;
const NOTE_S = 0.09;
const VOLUME = 0.08;

/**
 * A function that plays the chime, at most once per {@link TONE_GAP_MS}. The audio context is
 * created on first use (after a user gesture, browsers allow it to play); a browser without
 * WebAudio, or one that refuses, stays silent.
 */
export function createTonePlayer(
  makeContext: () => ToneContext | null = defaultContext,
  now: () => number = () => Date.now(),
): () => void {
  let ctx: ToneContext | null | undefined;
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < TONE_GAP_MS) return;
    last = t;
    try {
      ctx ??= makeContext();
      if (ctx === null) return;
      if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
      const start = ctx.currentTime + 0.01;
      NOTES.forEach((hz, i) => {
        const at = start + i * NOTE_S;
        const osc = ctx!.createOscillator();
        const gain = ctx!.createGain();
        osc.type = 'sine';
        osc.frequency.setValueAtTime(hz, at);
        gain.gain.setValueAtTime(0, at);
        gain.gain.linearRampToValueAtTime(VOLUME, at + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + NOTE_S * 1.6);
        osc.connect(gain).connect(ctx!.destination);
        osc.start(at);
        osc.stop(at + NOTE_S * 1.7);
      });
    } catch {
      // No sound is better than a broken notification path.
    }
  };
}

function defaultContext(): ToneContext | null {
  const Ctor =
    typeof AudioContext === 'function'
      ? AudioContext
      : (globalThis as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  return Ctor === undefined ? null : new Ctor();
}
