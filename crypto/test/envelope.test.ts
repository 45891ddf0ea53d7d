import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../src/sodium.ts';
import {
  ENVELOPE_VERSION,
  EnvelopeType,
  EnvelopeTypeName,
  MAX_ENVELOPE_BYTES,
  frameEnvelope,
  isEnvelopeType,
  unframeEnvelope,
} from '../src/envelope.ts';
import { codeOf } from './support/core-fixtures.ts';

beforeAll(async () => {
  await ready();
});

describe('envelope framing', () => {
  it('frames as version ‖ type ‖ body and unframes to the same type and body', () => {
    const body = Uint8Array.of(1, 2, 3);
    for (const type of Object.values(EnvelopeType)) {
      const env = frameEnvelope(type, body);
      expect([...env]).toEqual([ENVELOPE_VERSION, type, 1, 2, 3]);
      const back = unframeEnvelope(env);
      expect(back.type).toBe(type);
      expect([...back.body]).toEqual([1, 2, 3]);
    }
  });

  it('maps every type to its name and back', () => {
    for (const [name, value] of Object.entries(EnvelopeType)) {
      expect(EnvelopeTypeName[value]).toBe(name);
      expect(isEnvelopeType(value)).toBe(true);
    }
    expect(isEnvelopeType(0)).toBe(false);
    expect(isEnvelopeType(6)).toBe(false);
  });

  it('refuses input shorter than the header as MALFORMED', () => {
    expect(codeOf(() => unframeEnvelope(new Uint8Array(0)))).toBe('MALFORMED');
    expect(codeOf(() => unframeEnvelope(Uint8Array.of(1)))).toBe('MALFORMED');
  });

  it('refuses an unknown version as UNSUPPORTED_VERSION and an unknown type as UNKNOWN_TYPE', () => {
    expect(codeOf(() => unframeEnvelope(Uint8Array.of(2, 1, 0)))).toBe('UNSUPPORTED_VERSION');
    expect(codeOf(() => unframeEnvelope(Uint8Array.of(0, 1, 0)))).toBe('UNSUPPORTED_VERSION');
    expect(codeOf(() => unframeEnvelope(Uint8Array.of(1, 0, 0)))).toBe('UNKNOWN_TYPE');
    expect(codeOf(() => unframeEnvelope(Uint8Array.of(1, 9, 0)))).toBe('UNKNOWN_TYPE');
  });

  it('refuses envelopes over the size limit as OVERSIZED and accepts one exactly at it', () => {
    const at = new Uint8Array(MAX_ENVELOPE_BYTES);
    at[0] = 1;
    at[1] = 2;
    expect(unframeEnvelope(at).body.length).toBe(MAX_ENVELOPE_BYTES - 2);
    const over = new Uint8Array(MAX_ENVELOPE_BYTES + 1);
    over[0] = 1;
    over[1] = 2;
    expect(codeOf(() => unframeEnvelope(over))).toBe('OVERSIZED');
  });

  it('refuses something that is not bytes as MALFORMED', () => {
    expect(codeOf(() => unframeEnvelope('hello' as unknown as Uint8Array))).toBe('MALFORMED');
  });
});
