/**
 * The colour themes in `src/global.css` meet WCAG AA contrast (4.5:1 for text) for every pair
 * of text and background colour the components use, in the light and the dark theme — also for
 * the views a browser test cannot easily reach (the blocking key-change banner, the frozen-group
 * banner, read ticks in an own bubble). Each colour is written once in `:root` as
 * `light-dark(light, dark)`.
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

/** `:root`'s colour properties, one side of each `light-dark(light, dark)` (or the plain value). */
function themeVars(side: 'light' | 'dark'): Map<string, string> {
  const at = CSS.indexOf(':root {');
  if (at < 0) throw new Error('global.css has no :root block');
  const body = CSS.slice(at, CSS.indexOf('}', at));
  const hex = '(#[\\da-f]{6})';
  const pair = new RegExp(
    `--([\\w-]+):\\s*light-dark\\(\\s*${hex}\\s*,\\s*${hex}\\s*\\)\\s*;`,
    'giu',
  );
  const plain = new RegExp(`--([\\w-]+):\\s*${hex}\\s*;`, 'giu');
  return new Map([
    ...[...body.matchAll(plain)].map((m) => [m[1]!, m[2]!] as const),
    ...[...body.matchAll(pair)].map((m) => [m[1]!, side === 'light' ? m[2]! : m[3]!] as const),
  ]);
}

const LIGHT = themeVars('light');
const DARK = themeVars('dark');
const BUBBLE = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), '../src/components/message-bubble.ts'),
  'utf8',
);

/** `hsl(h s% l%)` as `#rrggbb` (CSS Color 4's conversion). */
function hsl(h: number, s: number, l: number): string {
  const [sat, light] = [s / 100, l / 100];
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const v = light - sat * Math.min(light, 1 - light) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

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

  it('gives every colour a light and a dark value, and lets Settings override the system', () => {
    for (const name of new Set([...Object.keys(TEXT_ON), ...Object.values(TEXT_ON).flat()]))
      expect(CSS, `--${name} written as light-dark(light, dark)`).toMatch(
        new RegExp(`--${name}:\\s*light-dark\\(`),
      );
    expect(CSS).toMatch(/:root \{\s*color-scheme: light dark;/);
    expect(CSS).toMatch(/:root\[data-theme='light'\] \{\s*color-scheme: light;\s*\}/);
    expect(CSS).toMatch(/:root\[data-theme='dark'\] \{\s*color-scheme: dark;\s*\}/);
  });

  it('writes sender names in group bubbles at 4.5:1 on --bubble-in for every hue', () => {
    // message-bubble.ts: light-dark(hsl(hue 60% L1), hsl(hue 60% L2)).
    const m =
      /light-dark\(\s*hsl\(var\(--sender-hue, 220\) 60% (\d+)%\),\s*hsl\(var\(--sender-hue, 220\) 60% (\d+)%\)/.exec(
        BUBBLE,
      );
    expect(m, 'the sender-name colour in message-bubble.ts').not.toBeNull();
    const low: string[] = [];
    for (let hue = 0; hue < 360; hue += 5)
      for (const [vars, l] of [
        [LIGHT, Number(m![1])],
        [DARK, Number(m![2])],
      ] as const) {
        const ratio = contrast(hsl(hue, 60, l), vars.get('bubble-in')!);
        if (ratio < 4.5) low.push(`hue ${hue} at ${l}%: ${ratio.toFixed(2)}:1`);
      }
    expect(low).toEqual([]);
  });

  it('measures contrast as WCAG does', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });
});
