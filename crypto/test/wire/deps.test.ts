import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../../src/wire');

describe('the wire contract module', () => {
  it('imports nothing outside src/wire (no libsodium, no I/O), so the broker can load it alone', () => {
    const imports: string[] = [];
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      for (const m of src.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'([^']+)'/gms))
        imports.push(m[1]!);
    }
    expect(imports.length).toBeGreaterThan(5);
    expect(imports.filter((s) => !/^\.\/[a-z-]+\.ts$/.test(s))).toEqual([]);
  });
});
