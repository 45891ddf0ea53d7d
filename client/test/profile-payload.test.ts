/** The `profile` payload (PROTOCOL.md §12 "Profiles", crypto/src/wire/profile.ts). */
import { describe, expect, it } from 'vitest';
import { cleanDisplayName } from '@sotto/crypto';
import { decodePayload, encodePayload, isPayloadError, newMessageId } from '../src/payload.ts';

const id = newMessageId();
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const profile = (fields: Record<string, unknown>) =>
  decodePayload(enc({ v: 1, id, ts: 7, kind: 'profile', ...fields }));
const avatar = {
  blobId: 'b1',
  key: 'a2V5a2V5',
  hash: 'aGFzaA',
  size: 4000,
  mime: 'image/webp' as const,
  width: 256,
  height: 256,
};

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (isPayloadError(err)) return err.code;
    throw err;
  }
  return 'decoded';
}

describe('the profile payload', () => {
  it('round-trips a name, a picture and a version', () => {
    const back = decodePayload(
      encodePayload({ id, ts: 7, kind: 'profile', displayName: 'Alice', avatar, version: 99 }),
    );
    expect(back).toEqual({ id, ts: 7, kind: 'profile', displayName: 'Alice', avatar, version: 99 });
  });

  it('strips control, bidi and zero-width characters and collapses white space', () => {
    expect(
      profile({ displayName: '\u202eecila\u202c \u200b\u2066bob\u2069\n\t x\u0000' }),
    ).toMatchObject({ displayName: 'ecila bob x' });
    expect(cleanDisplayName('Zoë 🙂  Li')).toBe('Zoë 🙂 Li');
    // Nothing left: no display name at all.
    expect('displayName' in profile({ displayName: '\u200e\u200f ' })).toBe(false);
  });

  it('limits the name to 64 characters once cleaned, and 256 as sent', () => {
    expect(profile({ displayName: 'a'.repeat(64) })).toMatchObject({ displayName: 'a'.repeat(64) });
    expect(codeOf(() => profile({ displayName: 'a'.repeat(65) }))).toBe('INVALID_FIELD');
    // Padding a name with stripped characters does not get a longer one through.
    expect(profile({ displayName: 'b'.repeat(60) + '\u200b'.repeat(100) })).toMatchObject({
      displayName: 'b'.repeat(60),
    });
    expect(codeOf(() => profile({ displayName: '\u200b'.repeat(257) }))).toBe('INVALID_FIELD');
    expect(codeOf(() => profile({ displayName: 5 }))).toBe('INVALID_FIELD');
  });

  it('refuses a picture of another format, too large, or with sides out of range', () => {
    for (const bad of [
      { ...avatar, mime: 'image/svg+xml' },
      { ...avatar, mime: 'text/html' },
      { ...avatar, size: 128 * 1024 + 1 },
      { ...avatar, size: 0 },
      { ...avatar, width: 513 },
      { ...avatar, height: 0 },
      { ...avatar, blobId: '../etc/passwd' },
      { ...avatar, key: 'not base64!' },
      'a string',
    ]) {
      expect(codeOf(() => profile({ avatar: bad }))).toBe('INVALID_FIELD');
    }
    expect(codeOf(() => profile({ version: -1 }))).toBe('INVALID_FIELD');
    expect(codeOf(() => profile({ version: 1.5 }))).toBe('INVALID_FIELD');
  });

  it('names no user: a field claiming one is ignored', () => {
    const p = profile({ displayName: 'Alice', user: 'alice' });
    expect(p).toEqual({ id, ts: 7, kind: 'profile', displayName: 'Alice' });
  });
});
