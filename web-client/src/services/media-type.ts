/**
 * What a decrypted attachment may become in the page (docs/SECURITY.md "Attachments"). The
 * sender's declared mime type is not trusted: only bytes whose magic numbers say PNG, JPEG, GIF,
 * WebP or AVIF are shown inline, from an object URL typed by those bytes; audio and video are
 * played inline only when the bytes prove one of the allowed containers ({@link INLINE_PLAYABLE}:
 * WebM, Ogg Opus, MP4) of the kind the message announces. Everything else — SVG, HTML, PDF,
 * unknown — is a file card whose only use is "save": its object URL is typed
 * `application/octet-stream`, so no blob URL of the app's origin ever holds an active type.
 */

/** Raster image types shown inline, each recognised by its magic number. */
export const INLINE_IMAGE_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
] as const;

/** A raster image type shown inline. */
export type InlineImageType = (typeof INLINE_IMAGE_TYPES)[number];

/** Whether a declared type is one of {@link INLINE_IMAGE_TYPES} (a hint only, never proof). */
export function isInlineImageType(type: string): type is InlineImageType {
  return (INLINE_IMAGE_TYPES as readonly string[]).includes(type);
}

/** What every non-inline attachment is typed as. */
export const SAVE_ONLY_TYPE = 'application/octet-stream';

/** How many leading bytes the sniffers look at. */
export const SNIFF_BYTES = 64;

/** Whether a stream plays as audio or as video. */
export type PlayableKind = 'audio' | 'video';

/**
 * An audio or video type played inline: when its `matches` recognises the leading bytes, the
 * message announces that kind (a voice note is audio, a declared `video/*` is video) and the
 * page's player says it can play it (`canPlayType`). The declared type only picks the kind; the
 * bytes pick the container, and the object URL is typed by the container.
 */
export interface InlinePlayable {
  type: string;
  kind: PlayableKind;
  matches(head: Uint8Array): boolean;
}

const ascii = (head: Uint8Array, at: number, text: string): boolean =>
  [...text].every((c, i) => head[at + i] === c.charCodeAt(0));

/** ISO-BMFF `ftyp` box naming an AVIF brand (major or compatible). */
function isAvif(head: Uint8Array): boolean {
  if (!ascii(head, 4, 'ftyp')) return false;
  const size =
    ((head[0] ?? 0) << 24) | ((head[1] ?? 0) << 16) | ((head[2] ?? 0) << 8) | (head[3] ?? 0);
  const end = Math.min(size, head.length);
  for (let at = 8; at + 4 <= end; at += 4) {
    if (at === 12) continue; // minor version, not a brand
    if (ascii(head, at, 'avif') || ascii(head, at, 'avis')) return true;
  }
  return false;
}

/** Matroska/WebM: the EBML magic, then a DocType element (`42 82`, size) saying `webm`. */
function isWebm(head: Uint8Array): boolean {
  if (!(head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3)) return false;
  for (let at = 4; at + 7 <= head.length; at++) {
    if (head[at] === 0x42 && head[at + 1] === 0x82 && ascii(head, at + 3, 'webm')) return true;
  }
  return false;
}

/** Ogg whose first page holds an Opus identification header (`OpusHead`). */
function isOggOpus(head: Uint8Array): boolean {
  if (!ascii(head, 0, 'OggS')) return false;
  const segments = head[26] ?? 0;
  return ascii(head, 27 + segments, 'OpusHead');
}

/** ISO-BMFF `ftyp` box naming an MP4 video brand (and not an image brand). */
function isMp4(head: Uint8Array): boolean {
  if (!ascii(head, 4, 'ftyp') || isAvif(head)) return false;
  const size =
    ((head[0] ?? 0) << 24) | ((head[1] ?? 0) << 16) | ((head[2] ?? 0) << 8) | (head[3] ?? 0);
  const end = Math.min(size, head.length);
  for (let at = 8; at + 4 <= end; at += 4) {
    if (at === 12) continue; // minor version, not a brand
    for (const brand of ['isom', 'iso2', 'mp41', 'mp42', 'avc1', 'dash'])
      if (ascii(head, at, brand)) return true;
  }
  return false;
}

/** Audio and video types played inline, each recognised by its container's magic. */
export const INLINE_PLAYABLE: readonly InlinePlayable[] = [
  { type: 'audio/webm', kind: 'audio', matches: isWebm },
  { type: 'audio/ogg', kind: 'audio', matches: isOggOpus },
  { type: 'video/webm', kind: 'video', matches: isWebm },
  { type: 'video/mp4', kind: 'video', matches: isMp4 },
];

/** The playable type of `kind` the leading bytes `head` prove, or `null`. */
export function playableType(head: Uint8Array, kind: PlayableKind): string | null {
  return INLINE_PLAYABLE.find((p) => p.kind === kind && p.matches(head))?.type ?? null;
}

const MAGIC: readonly [InlineImageType, (head: Uint8Array) => boolean][] = [
  [
    'image/png',
    (h) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => h[i] === b),
  ],
  ['image/jpeg', (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff],
  ['image/gif', (h) => ascii(h, 0, 'GIF87a') || ascii(h, 0, 'GIF89a')],
  ['image/webp', (h) => ascii(h, 0, 'RIFF') && ascii(h, 8, 'WEBP')],
  ['image/avif', isAvif],
];

/** The inline image type the leading bytes `head` prove, or `null` (then: a file card). */
export function inlineImageType(head: Uint8Array): InlineImageType | null {
  for (const [type, matches] of MAGIC) if (matches(head)) return type;
  return null;
}

/** A decrypted attachment as the page keeps it. */
export interface DecryptedMedia {
  /** The bytes, typed {@link SAVE_ONLY_TYPE}: what "save" hands to the browser. */
  data: Blob;
  /** Object URL typed by the bytes, when they are an inline raster image. */
  inlineUrl?: string;
  /** Object URL typed by the container, when the bytes are playable audio or video. */
  playUrl?: string;
  /** What {@link playUrl} plays as. */
  playKind?: PlayableKind;
  /** Object URL of `data`, made on the first save. */
  saveUrl?: string;
}

/** Whether the page's `<audio>`/`<video>` can play `type` (false outside a DOM). */
function browserCanPlay(kind: PlayableKind, type: string): boolean {
  if (typeof document === 'undefined') return false;
  return document.createElement(kind).canPlayType(type) !== '';
}

/**
 * Judge decrypted bytes by their magic numbers (the blob's own type is ignored). `playAs` is
 * the kind the message announces (a voice note: audio; a declared video: video); bytes of an
 * allowed container of that kind get a play URL, when `canPlay` agrees.
 */
export async function decryptedMedia(
  bytes: Blob,
  playAs?: PlayableKind,
  canPlay: (kind: PlayableKind, type: string) => boolean = browserCanPlay,
): Promise<DecryptedMedia> {
  const head = new Uint8Array(await bytes.slice(0, SNIFF_BYTES).arrayBuffer());
  const type = inlineImageType(head);
  const data = bytes.slice(0, bytes.size, SAVE_ONLY_TYPE);
  if (type !== null)
    return { data, inlineUrl: URL.createObjectURL(bytes.slice(0, bytes.size, type)) };
  const play = playAs !== undefined ? playableType(head, playAs) : null;
  if (play === null || playAs === undefined || !canPlay(playAs, play)) return { data };
  return {
    data,
    playUrl: URL.createObjectURL(bytes.slice(0, bytes.size, play)),
    playKind: playAs,
  };
}

/** The kind a stored `file` body announces: voice notes and `audio/*` play as audio, `video/*` as video. */
export function announcedKind(body: Record<string, unknown>): PlayableKind | undefined {
  const mime = typeof body.mime === 'string' ? body.mime : '';
  if (typeof body.voice === 'object' && body.voice !== null) return 'audio';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  return undefined;
}

/** The object URL to save `media` from (always {@link SAVE_ONLY_TYPE}). */
export function saveUrlOf(media: DecryptedMedia): string {
  media.saveUrl ??= URL.createObjectURL(media.data);
  return media.saveUrl;
}

/** Release the object URLs of `media`. */
export function revokeMedia(media: DecryptedMedia): void {
  if (media.inlineUrl !== undefined) URL.revokeObjectURL(media.inlineUrl);
  if (media.playUrl !== undefined) URL.revokeObjectURL(media.playUrl);
  if (media.saveUrl !== undefined) URL.revokeObjectURL(media.saveUrl);
}
