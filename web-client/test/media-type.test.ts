/**
 * What decrypted attachment bytes may become (services/media-type.ts): only PNG, JPEG, GIF,
 * WebP and AVIF magic numbers are inline, only WebM, Ogg Opus and MP4 containers play; the
 * declared type only says which kind (audio or video) a container is played as.
 */
import { describe, expect, it } from 'vitest';
import {
  INLINE_PLAYABLE,
  SAVE_ONLY_TYPE,
  decryptedMedia,
  inlineImageType,
  playableType,
  revokeMedia,
  saveUrlOf,
} from '../src/services/media-type.ts';

const bytes = (...parts: (string | number[])[]): Uint8Array<ArrayBuffer> =>
  new Uint8Array(
    parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)),
  );

const PNG = bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0, 0, 0, 13], 'IHDR');
const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0, 0, 16], 'JFIF');
const GIF = bytes('GIF89a', [1, 0, 1, 0]);
const WEBP = bytes('RIFF', [36, 0, 0, 0], 'WEBPVP8 ');
const AVIF = bytes([0, 0, 0, 28], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf');
const AVIF_COMPAT = bytes([0, 0, 0, 24], 'ftypmif1', [0, 0, 0, 0], 'mif1avif');
const SVG = bytes('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
const HTML = bytes('<!doctype html><script>alert(1)</script>');
const PDF = bytes('%PDF-1.7\n');
const MP4 = bytes([0, 0, 0, 24], 'ftypisom', [0, 0, 2, 0], 'isomiso2');

describe('inlineImageType', () => {
  it('recognises each allowed raster format by its magic number', () => {
    expect(inlineImageType(PNG)).toBe('image/png');
    expect(inlineImageType(JPEG)).toBe('image/jpeg');
    expect(inlineImageType(GIF)).toBe('image/gif');
    expect(inlineImageType(bytes('GIF87a'))).toBe('image/gif');
    expect(inlineImageType(WEBP)).toBe('image/webp');
    expect(inlineImageType(AVIF)).toBe('image/avif');
    expect(inlineImageType(AVIF_COMPAT)).toBe('image/avif');
  });

  it('refuses SVG, HTML, PDF, video, truncated and empty bytes', () => {
    for (const b of [SVG, HTML, PDF, MP4, PNG.slice(0, 7), bytes('RIFF'), new Uint8Array(0)])
      expect(inlineImageType(b)).toBeNull();
  });

  it('does not count an ftyp box’s minor version or bytes past the box as a brand', () => {
    expect(inlineImageType(bytes([0, 0, 0, 16], 'ftypmif1avif'))).toBeNull();
    expect(inlineImageType(bytes([0, 0, 0, 16], 'ftypmif1', [0, 0, 0, 0], 'avif'))).toBeNull();
  });
});

const WEBM = bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0x82, 0x84], 'webm');
const MKV = bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], 'matroska');
const OGG_OPUS = bytes('OggS', new Array<number>(22).fill(0), [1, 19], 'OpusHead');
const OGG_VORBIS = bytes('OggS', new Array<number>(22).fill(0), [1, 30, 1], 'vorbis');

describe('playableType (audio and video allow-list)', () => {
  it('lists WebM and Ogg Opus audio, WebM and MP4 video', () => {
    expect(INLINE_PLAYABLE.map((p) => `${p.kind}:${p.type}`)).toEqual([
      'audio:audio/webm',
      'audio:audio/ogg',
      'video:video/webm',
      'video:video/mp4',
    ]);
  });

  it('types the stream by its container and the announced kind', () => {
    expect(playableType(WEBM, 'audio')).toBe('audio/webm');
    expect(playableType(WEBM, 'video')).toBe('video/webm');
    expect(playableType(OGG_OPUS, 'audio')).toBe('audio/ogg');
    expect(playableType(MP4, 'video')).toBe('video/mp4');
  });

  it('refuses other containers, the wrong kind, images and active content', () => {
    for (const b of [MKV, OGG_VORBIS, SVG, HTML, PDF, PNG, AVIF, WEBM.slice(0, 8)]) {
      expect(playableType(b, 'audio')).toBeNull();
      expect(playableType(b, 'video')).toBeNull();
    }
    expect(playableType(OGG_OPUS, 'video')).toBeNull();
    expect(playableType(MP4, 'audio')).toBeNull();
  });
});

describe('decryptedMedia', () => {
  it('types an inline URL by the bytes, ignoring the blob’s declared type', async () => {
    const media = await decryptedMedia(new Blob([PNG], { type: 'text/html' }));
    expect(media.inlineUrl).toMatch(/^blob:/);
    expect(media.data.type).toBe(SAVE_ONLY_TYPE);
    expect(new Uint8Array(await media.data.arrayBuffer())).toEqual(PNG);
    revokeMedia(media);
  });

  it('gives playable bytes a play URL typed by the container, only for the announced kind', async () => {
    const yes = () => true;
    const audio = await decryptedMedia(new Blob([WEBM], { type: 'text/html' }), 'audio', yes);
    expect(audio.playUrl).toMatch(/^blob:/);
    expect(audio.playKind).toBe('audio');
    expect(audio.inlineUrl).toBeUndefined();
    revokeMedia(audio);
    // Not announced as audio/video, not playable by the page, or HTML announced as a voice note.
    for (const media of [
      await decryptedMedia(new Blob([WEBM])),
      await decryptedMedia(new Blob([WEBM]), 'audio', () => false),
      await decryptedMedia(new Blob([HTML], { type: 'audio/webm' }), 'audio', yes),
      await decryptedMedia(new Blob([SVG], { type: 'video/mp4' }), 'video', yes),
    ]) {
      expect(media.playUrl).toBeUndefined();
      expect(media.inlineUrl).toBeUndefined();
      expect(media.data.type).toBe(SAVE_ONLY_TYPE);
    }
  });

  it('keeps SVG declared as an image save-only, typed application/octet-stream', async () => {
    const media = await decryptedMedia(new Blob([SVG], { type: 'image/svg+xml' }));
    expect(media.inlineUrl).toBeUndefined();
    expect(media.data.type).toBe(SAVE_ONLY_TYPE);
    const url = saveUrlOf(media);
    expect(saveUrlOf(media)).toBe(url);
    revokeMedia(media);
  });
});
