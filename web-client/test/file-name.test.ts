/**
 * The attachment file-name sanitiser (services/file-name.ts): what a hostile sender's name
 * becomes when shown and saved.
 */
import { describe, expect, it } from 'vitest';
import {
  FALLBACK_FILE_NAME,
  MAX_FILE_NAME_LENGTH,
  safeFileName,
} from '../src/services/file-name.ts';

describe('safeFileName', () => {
  it('keeps an ordinary name, accents and emoji included', () => {
    expect(safeFileName('Holiday photo 2.jpg')).toBe('Holiday photo 2.jpg');
    expect(safeFileName('Crème brûlée 🍮.png')).toBe('Crème brûlée 🍮.png');
  });

  it('removes bidi overrides, isolates and marks, so the real extension shows', () => {
    expect(safeFileName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(safeFileName('a\u202Ab\u202Bc\u202Cd\u202De\u2066f\u2067g\u2068h\u2069i.txt')).toBe(
      'abcdefghi.txt',
    );
    expect(safeFileName('x\u200E\u200F\u061C\u200B\uFEFFy.txt')).toBe('xy.txt');
  });

  it('removes control characters and collapses white space', () => {
    expect(safeFileName('a\u0000b\u0007c\u001b[31md\u007f\u0085e.txt')).toBe('abc[31md e.txt');
    expect(safeFileName('two\nlines\tand   spaces.txt')).toBe('two lines and spaces.txt');
    expect(safeFileName('sep\u2028arators\u2029.txt')).toBe('sep arators .txt');
  });

  it('replaces path separators and reserved punctuation, so no directory is climbed', () => {
    expect(safeFileName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(safeFileName('..\\..\\Windows\\win.ini')).toBe('_.._Windows_win.ini');
    expect(safeFileName('C:/x<y>z|"q"?*.txt')).toBe('C__x_y_z__q___.txt');
  });

  it('drops leading dots and spaces (no hidden dot-files) and trailing dots and spaces', () => {
    expect(safeFileName('.bashrc')).toBe('bashrc');
    expect(safeFileName(' ...  .profile')).toBe('profile');
    expect(safeFileName('report.pdf. . ')).toBe('report.pdf');
  });

  it('prefixes names Windows reserves for devices', () => {
    expect(safeFileName('CON')).toBe('_CON');
    expect(safeFileName('nul.txt')).toBe('_nul.txt');
    expect(safeFileName('com1.tar.gz')).toBe('_com1.tar.gz');
    expect(safeFileName('console.txt')).toBe('console.txt');
  });

  it('bounds the length and keeps a short extension', () => {
    const long = safeFileName(`${'a'.repeat(500)}.png`);
    expect([...long]).toHaveLength(MAX_FILE_NAME_LENGTH);
    expect(long.endsWith('.png')).toBe(true);
    const emoji = safeFileName('🍮'.repeat(300));
    expect([...emoji]).toHaveLength(MAX_FILE_NAME_LENGTH);
    expect(emoji).toBe('🍮'.repeat(MAX_FILE_NAME_LENGTH)); // no surrogate pair cut in half
    const longExt = safeFileName(`name.${'x'.repeat(300)}`);
    expect([...longExt]).toHaveLength(MAX_FILE_NAME_LENGTH);
  });

  it('never returns an empty name', () => {
    for (const name of ['', '...', '\u202E', ' / ', '\u0000\u0001'])
      expect(safeFileName(name).length).toBeGreaterThan(0);
    expect(safeFileName('')).toBe(FALLBACK_FILE_NAME);
    expect(safeFileName('\u202E\u200B')).toBe(FALLBACK_FILE_NAME);
  });

  it('refuses a name that is not a string', () => {
    expect(() => safeFileName(42 as unknown as string)).toThrow(TypeError);
  });
});
