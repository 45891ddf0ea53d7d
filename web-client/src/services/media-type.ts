/**
 * What a decrypted attachment may become in the page (docs/SECURITY.md "Attachments"). The
 * sender's declared mime type is not trusted: only bytes whose magic numbers say PNG, JPEG, GIF,
 * WebP or AVIF are shown inline, from an object URL typed by those bytes. Everything else — SVG,
 * HTML, PDF, unknown — is a file card whose only use is "save": its object URL is typed
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

/**
 * The allow-list hook for audio and video: a type here is played inline when its `matches`
 * recognises the bytes and the page's player says it can play it (`canPlayType`). Empty: the
 * web client has no audio or video player yet, so such files are file cards.
 */
export interface InlinePlayable {
  type: string;
  kind: 'audio' | 'video';
  matches(head: Uint8Array): boolean;
}

/** Audio and video types played inline (none yet; see {@link InlinePlayable}). */
export const INLINE_PLAYABLE: readonly InlinePlayable[] = [];

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
  /** Object URL of `data`, made on the first save. */
  saveUrl?: string;
}

/** Judge decrypted bytes by their magic numbers (the blob's own type is ignored). */
export async function decryptedMedia(bytes: Blob): Promise<DecryptedMedia> {
  const head = new Uint8Array(await bytes.slice(0, SNIFF_BYTES).arrayBuffer());
  const type = inlineImageType(head);
  const data = bytes.slice(0, bytes.size, SAVE_ONLY_TYPE);
  if (type === null) return { data };
  return { data, inlineUrl: URL.createObjectURL(bytes.slice(0, bytes.size, type)) };
}

/** The object URL to save `media` from (always {@link SAVE_ONLY_TYPE}). */
export function saveUrlOf(media: DecryptedMedia): string {
  media.saveUrl ??= URL.createObjectURL(media.data);
  return media.saveUrl;
}

/** Release the object URLs of `media`. */
export function revokeMedia(media: DecryptedMedia): void {
  if (media.inlineUrl !== undefined) URL.revokeObjectURL(media.inlineUrl);
  if (media.saveUrl !== undefined) URL.revokeObjectURL(media.saveUrl);
}
