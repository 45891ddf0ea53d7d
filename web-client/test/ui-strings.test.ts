/**
 * The messages module (`src/services/ui-strings.ts`): every user-visible English string of a
 * converted component comes from its catalogue. The check reads each component's source and
 * fails on English written into a Lit template (text, `aria-label`, `title`, `placeholder`,
 * `alt`, …) or into a sentence-like literal; the files not converted yet are named in
 * {@link NOT_YET_CONVERTED}, a list that only shrinks. Also: the catalogue's parts do not
 * redefine each other's keys, parameters and plural forms are filled as documented, and a
 * translation replaces the words while dates stay the browser's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hardCodedTexts } from './support/template-text.ts';
import {
  EN,
  EN_PARTS,
  setUiStrings,
  uiPieces,
  uiPlural,
  uiText,
  type UiStrings,
} from '../src/services/ui-strings.ts';

/** `src/components/` as a path (happy-dom's `URL` is not one `node:fs` takes). */
const COMPONENTS = join(dirname(fileURLToPath(import.meta.url)), '../src/components');
const source = (f: string): string => readFileSync(join(COMPONENTS, f), 'utf8');

/**
 * Components whose words are still in their templates. Empty since stop 17: every component
 * takes its words from the catalogue. Never add one (a new component writes none either).
 */
const NOT_YET_CONVERTED = new Set<string>();

/** Every component and controller file, relative to `src/components/`. */
function componentFiles(): string[] {
  return readdirSync(COMPONENTS, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replaceAll('\\', '/'))
    .sort();
}

afterEach(() => setUiStrings(undefined));

describe('no English outside the messages module', () => {
  it('finds none in the templates and sentences of converted components', () => {
    const found = componentFiles()
      .filter((f) => !NOT_YET_CONVERTED.has(f))
      .flatMap((f) =>
        hardCodedTexts(f, source(f)).map((h) => `${f}:${h.line} ${h.where}: ${h.text}`),
      );
    expect(found).toEqual([]);
  });

  it('lists only files that exist and still hold English (the list shrinks)', () => {
    const files = new Set(componentFiles());
    for (const f of NOT_YET_CONVERTED) {
      expect(files.has(f), `${f} exists`).toBe(true);
      const found = hardCodedTexts(f, source(f));
      expect(found.length, `${f} is converted: take it off NOT_YET_CONVERTED`).toBeGreaterThan(0);
    }
  });

  it('catches text, labels and sentence literals, and leaves expressions and code alone', () => {
    const source = `
      const t = html\`<p>Hello there</p><b>\${name}</b> · <i>\${uiText('a.b')}</i>
        <button aria-label="Close it" title=\${uiText('x.y')} class="big">×</button>
        <input placeholder=\${busy ? 'Saving…' : uiText('s.s')} />
        <style>p { color: red }</style><!-- a comment in words -->\`;
      const status = \`You blocked \${user}.\`;
      if (e.key === 'Enter' || types.includes('Files')) throw new RangeError('Bad input here');
      const css = 'flex'; const qr = { level: 'M' };`;
    const found = hardCodedTexts('x.ts', source).map((h) => `${h.where}: ${h.text}`);
    expect(found).toEqual([
      'text: Hello there',
      'aria-label: "Close it"',
      'placeholder: Saving…',
      'code: You blocked ${…}.',
    ]);
  });
});

describe('the catalogue', () => {
  it('has no key defined by two of its parts', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const [part, strings] of Object.entries(EN_PARTS)) {
      for (const key of Object.keys(strings)) {
        const other = seen.get(key);
        if (other !== undefined) twice.push(`${key} in ${other} and ${part}`);
        seen.set(key, part);
      }
    }
    expect(twice).toEqual([]);
    expect(Object.keys(EN)).toHaveLength(seen.size);
  });

  it('gives every plural key its "other" form', () => {
    const keys = Object.keys(EN);
    const bases = new Set(
      keys.filter((k) => /\.(zero|one|two|few|many)$/.test(k)).map((k) => k.replace(/\.\w+$/, '')),
    );
    for (const base of bases) expect(keys, base).toContain(`${base}.other`);
  });

  it('fills parameters, and leaves a missing one visible', () => {
    expect(uiText('block.blocked', { user: 'bob' })).toBe('You blocked bob.');
    expect(uiText('block.blocked')).toBe('You blocked {user}.');
  });

  it('picks the plural form by the catalogue’s language and writes the count the browser’s way', () => {
    expect(uiPlural('report.sent', 1)).toBe('Report sent to the operator.');
    expect(uiPlural('report.sent', 3)).toBe('Report sent to 3 operators.');
    expect(uiPlural('keyChange.held', 1, { user: 'bob' })).toBe(
      '1 message from bob is held because bob’s safety number changed.',
    );
    // happy-dom's navigator.language is en-US: grouping with a comma.
    expect(uiPlural('appLock.idleSaved', 1200)).toBe('Locks after 1,200 seconds without input.');
  });

  it('fills markup parameters as pieces a template renders', () => {
    const bold = { tag: 'strong' };
    expect(uiPieces('reset.confirm', { user: bold })).toEqual(['Type ', bold, ' to confirm']);
  });

  it('takes a translation with its own plural rules, and refuses an unknown language', () => {
    const polish = Object.fromEntries(Object.keys(EN).map((k) => [k, `[pl] ${k}`])) as UiStrings;
    polish['report.sent.one'] = 'Zgłoszenie wysłano do operatora.';
    (polish as Record<string, string>)['report.sent.few'] =
      'Zgłoszenie wysłano do {count} operatorów (few).';
    polish['report.sent.other'] = 'Zgłoszenie wysłano do {count} operatorów.';
    setUiStrings(polish, 'pl');
    expect(uiPlural('report.sent', 1)).toBe('Zgłoszenie wysłano do operatora.');
    expect(uiPlural('report.sent', 3)).toBe('Zgłoszenie wysłano do 3 operatorów (few).');
    expect(uiPlural('report.sent', 5)).toBe('Zgłoszenie wysłano do 5 operatorów.');
    expect(uiText('block.blocked')).toBe('[pl] block.blocked');
    expect(() => setUiStrings(polish, 'not a language')).toThrow(RangeError);
    setUiStrings(undefined);
    expect(uiText('block.blocked', { user: 'bob' })).toBe('You blocked bob.');
  });
});
