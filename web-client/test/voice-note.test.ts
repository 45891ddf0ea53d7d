/** Voice note analysis and recording logic (services/voice-note.ts) with injected media devices. */
import { describe, expect, it } from 'vitest';
import { MAX_WAVEFORM_SAMPLES, decodePayload, encodePayload } from '@sotto/client/payload';
import {
  VoiceRecording,
  WAVEFORM_SAMPLES,
  clock,
  waveformLevels,
  waveformOf,
  type RecorderDeps,
} from '../src/services/voice-note.ts';

describe('waveformOf', () => {
  it('takes the peak of each slice, scaled so the loudest is 255', () => {
    const signal = Float32Array.from([0, 0.1, -0.2, 0, 0.05, 0, -0.4, 0.1]);
    expect([...waveformOf(signal, 4)]).toEqual([64, 128, 32, 255]);
  });

  it('keeps silence flat and never exceeds the wire limit of samples', () => {
    expect([...waveformOf(new Float32Array(100), 5)]).toEqual([0, 0, 0, 0, 0]);
    expect(waveformOf(new Float32Array(10), 1000).length).toBe(MAX_WAVEFORM_SAMPLES);
    expect(waveformOf(new Float32Array(0)).length).toBe(WAVEFORM_SAMPLES);
  });

  it('round-trips through the payload as base64url levels', () => {
    const levels = waveformLevels('AP-A'); // 0x00 0xff 0x80
    expect(levels).toEqual([0, 1, 128 / 255]);
    expect(waveformLevels('not base64!')).toEqual([]);
    expect(waveformLevels(7)).toEqual([]);
  });

  it('formats lengths as m:ss', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(65_432)).toBe('1:05');
  });
});

/** A MediaRecorder stand-in that emits the given chunks and stops on request. */
class FakeRecorder extends EventTarget {
  state: 'inactive' | 'recording' = 'inactive';
  constructor(private readonly chunks: Blob[]) {
    super();
  }
  start(): void {
    this.state = 'recording';
  }
  stop(): void {
    this.state = 'inactive';
    for (const data of this.chunks)
      this.dispatchEvent(Object.assign(new Event('dataavailable'), { data }));
    this.dispatchEvent(new Event('stop'));
  }
}

function deps(over: Partial<RecorderDeps> & { chunks?: Blob[]; supported?: string[] }) {
  let t = 1000;
  const stopped: string[] = [];
  const track = { stop: () => stopped.push('track') };
  const d: RecorderDeps = {
    microphone: () => Promise.resolve({ getTracks: () => [track] } as unknown as MediaStream),
    isTypeSupported: (type) => (over.supported ?? ['audio/webm;codecs=opus']).includes(type),
    recorder: () => new FakeRecorder(over.chunks ?? [new Blob([new Uint8Array(10)])]) as never,
    decode: () => Promise.resolve({ signal: Float32Array.from([0, 0.5, 0, 1]), durationMs: 2500 }),
    now: () => (t += 700),
    ...over,
  };
  return { d, stopped };
}

describe('VoiceRecording', () => {
  it('makes a WebM voice note with the decoded length and waveform that the codec accepts', async () => {
    const { d, stopped } = deps({});
    const rec = new VoiceRecording(undefined, d);
    await rec.start();
    const note = (await rec.finish())!;
    expect(note.file.type).toBe('audio/webm');
    expect(note.file.name).toMatch(/^voice-note-.*\.webm$/);
    expect(note.voice.durationMs).toBe(2500);
    expect(waveformLevels(note.voice.waveform)).toHaveLength(WAVEFORM_SAMPLES);
    expect(stopped).toEqual(['track']); // the microphone is released
    const payload = {
      id: 'AAAAAAAAAAAAAAAAAAAAAA',
      ts: 1,
      kind: 'file' as const,
      blobId: 'b',
      name: note.file.name,
      mime: note.file.type,
      size: note.file.size,
      key: 'AA',
      hash: 'AA',
      voice: note.voice,
    };
    expect(decodePayload(encodePayload(payload))).toEqual(payload);
  });

  it('falls back to Ogg, and to the recorder clock when the page cannot decode it', async () => {
    const { d } = deps({
      supported: ['audio/ogg;codecs=opus'],
      decode: () => Promise.reject(new Error('no decoder')),
    });
    const rec = new VoiceRecording(undefined, d);
    await rec.start();
    const note = (await rec.finish())!;
    expect(note.file.type).toBe('audio/ogg');
    expect(note.voice.durationMs).toBe(700);
  });

  it('refuses a browser without Opus recording, and a cancelled or empty one sends nothing', async () => {
    await expect(new VoiceRecording(undefined, deps({ supported: [] }).d).start()).rejects.toThrow(
      /Opus/,
    );
    const cancelled = new VoiceRecording(undefined, deps({}).d);
    await cancelled.start();
    cancelled.cancel();
    expect(await cancelled.finish()).toBeUndefined();
    const empty = new VoiceRecording(undefined, deps({ chunks: [] }).d);
    await empty.start();
    expect(await empty.finish()).toBeUndefined();
  });
});
