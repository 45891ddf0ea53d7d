/**
 * The one sanitiser for attachment file names (docs/SECURITY.md "Attachments"). A sender picks
 * the name; it is shown as text and used as the `download` name, so it must not hide its real
 * extension (U+202E RIGHT-TO-LEFT OVERRIDE turns `photo\u202Egnp.exe` into "photoexe.png"),
 * climb directories, be a hidden dot-file or a reserved device name, or run off the screen.
 */

/** Longest name kept, in code points (the extension is kept whole when it is short). */
export const MAX_FILE_NAME_LENGTH = 120;

/** Longest extension kept whole when a name is shortened. */
const MAX_EXTENSION_LENGTH = 12;

/** What a name that sanitises to nothing is called. */
export const FALLBACK_FILE_NAME = 'file';

/**
 * Control and format characters: C0/C1 controls and DEL (`\p{Cc}`) and invisible formatting
 * (`\p{Cf}`), which holds the bidi overrides, embeddings and isolates (U+202A–U+202E,
 * U+2066–U+2069), the directional marks and the zero-width characters.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;

/** Line and tab breaks, which become spaces rather than glue two words together. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;

/** Path separators and the characters Windows refuses in a name. */
const UNSAFE = /[/\\:*?"<>|]/g;

/** Names Windows maps to devices, with or without an extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * `name` made safe to show and to save: line breaks and tabs made spaces, invisible and bidi
 * control characters removed, path separators and reserved punctuation replaced by `_`, runs of
 * white space collapsed, leading dots and spaces and trailing dots and spaces removed, reserved
 * device names prefixed with `_`, at most {@link MAX_FILE_NAME_LENGTH} code points (keeping a
 * short extension), never empty.
 */
export function safeFileName(name: string): string {
  if (typeof name !== 'string') throw new TypeError('name must be a string');
  let s = name
    .normalize('NFC')
    .replace(BREAKS, ' ')
    .replace(INVISIBLE, '')
    .replace(UNSAFE, '_')
    .replace(/\s+/gu, ' ')
    .replace(/^[\s.]+/u, '')
    .replace(/[\s.]+$/u, '');
  if (RESERVED.test(s)) s = `_${s}`;
  const chars = [...s];
  if (chars.length > MAX_FILE_NAME_LENGTH) {
    const dot = s.lastIndexOf('.');
    const ext = dot > 0 ? [...s.slice(dot)] : [];
    const keep = ext.length > 1 && ext.length <= MAX_EXTENSION_LENGTH ? ext : [];
    s = chars
      .slice(0, MAX_FILE_NAME_LENGTH - keep.length)
      .join('')
      .replace(/[\s.]+$/u, '')
      .concat(keep.join(''));
  }
  return s === '' ? FALLBACK_FILE_NAME : s;
}
