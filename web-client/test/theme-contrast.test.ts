/**
 * The colour themes in `src/global.css` meet WCAG AA contrast (4.5:1 for text) for every pair
 * of text and background colour the components use, in the light and the dark theme — also for
 * the views a browser test cannot easily reach (the blocking key-change banner, the frozen-group
 * banner, read ticks in an own bubble). The dark theme is written twice (for
 * `prefers-color-scheme` and for the explicit choice); both copies must say the same.
 * axe-core checks the rendered views in `test/web/locale-contrast.test.ts` and
 * `test/web/conversation-ux.test.ts`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CSS = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '../src/global.css'),
  'utf8',
);

/** The custom properties declared in the first block after `selector`. */
function themeVars(selector: string): Map<string, string> {
  const at = CSS.indexOf(selector);
  if (at < 0) throw new Error(`global.css has no ${selector} block`);
  const body = CSS.slice(CSS.indexOf('{', at) + 1, CSS.indexOf('}', at));
  return new Map(
    [...body.matchAll(/--([\w-]+):\s*(#[\da-f]{6})\s*;/giu)].map((m) => [m[1]!, m[2]!]),
  );
}

const LIGHT = themeVars(':root {');
const DARK = themeVars(":root[data-theme='dark'] {");
const DARK_BY_SYSTEM = themeVars(":root:not([data-theme='light']) {");

/** WCAG 2 relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two colours. */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Text colour → the backgrounds it is written on somewhere in the app. */
const TEXT_ON: Readonly<Record<string, readonly string[]>> = {
  fg: ['bg', 'bg-2', 'bg-3', 'bubble-out', 'bubble-in'],
  'fg-2': ['bg', 'bg-2', 'bg-3', 'bubble-out', 'bubble-in'],
  accent: ['bg', 'bg-2', 'bubble-out', 'bubble-in'],
  'on-accent': ['accent', 'accent-2'],
  danger: ['bg', 'bg-2', 'bg-3', 'bubble-in', 'on-danger'],
  'on-danger': ['danger'],
  'warn-fg': ['warn-bg'],
  'ok-fg': ['bg', 'bg-2'],
};

describe('theme contrast', () => {
  for (const [name, vars] of [
    ['light', LIGHT],
    ['dark', DARK],
  ] as const) {
    it(`gives every text at least 4.5:1 on its backgrounds in the ${name} theme`, () => {
      const low: string[] = [];
      for (const [text, backgrounds] of Object.entries(TEXT_ON)) {
        for (const bg of backgrounds) {
          const fg = vars.get(text);
          const back = vars.get(bg);
          if (fg === undefined || back === undefined) {
            low.push(`--${text} on --${bg}: not defined`);
            continue;
          }
          const ratio = contrast(fg, back);
          if (ratio < 4.5) low.push(`--${text} ${fg} on --${bg} ${back}: ${ratio.toFixed(2)}:1`);
        }
      }
      expect(low).toEqual([]);
    });
  }

  it('writes the same dark theme for the system setting and the explicit choice', () => {
    expect(Object.fromEntries(DARK_BY_SYSTEM)).toEqual(Object.fromEntries(DARK));
  });

  it('measures contrast as WCAG does', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });
});
