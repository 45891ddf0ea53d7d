/**
 * `@sotto/client` is browser-safe outside its `node/` entry (issue 16): nothing its browser
 * entries import, transitively, uses Node's globals or modules. `tsc -p client` (types: [])
 * cannot prove this alone — mqtt.js's type declarations pull in @types/node — so this walks the
 * import graph of the sources instead.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');
const ENTRIES = ['index.ts', 'stores/dexie.ts', 'payload.ts'].map((f) => join(SRC, f));
/** Node-only uses: the Buffer and process globals, node: modules, require. */
const NODE_ONLY = /\bBuffer\.|\bprocess\.|\bfrom 'node:|\brequire\(|\bbetter-sqlite3\b/;

/** Every source file reachable from `entries` by relative imports (type-only ones too). */
function graph(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bfrom '(\.[^']+)'/g)) todo.push(resolve(dirname(file), m[1]!));
  }
  return seen;
}

describe('browser-safe client', () => {
  it('no file the browser entries reach uses Node-only globals or modules', () => {
    const files = graph(ENTRIES);
    // The walk reaches the engine and its layers (a walk that finds nothing proves nothing).
    expect([...files].some((f) => f.endsWith(join('internal', 'transport.ts')))).toBe(true);
    expect([...files].some((f) => f.endsWith(join('node', 'index.ts')))).toBe(false);
    const offenders = [...files].filter((f) => {
      // Comments may name Node things; code may not.
      const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      return NODE_ONLY.test(code);
    });
    expect(offenders).toEqual([]);
  });
});
