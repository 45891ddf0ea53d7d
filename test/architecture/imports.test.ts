/**
 * The import graph points one way (issue 16): no cycle among a package's own source files
 * (type-only imports included — they are a dependency of the reader, if not of the bundle), and
 * no package reaches into one it must not depend on (the broker runs without the key server; the
 * engine and the web client run without either server; the wire contract depends on nothing).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGES = ['crypto', 'server-core', 'keyserver', 'broker', 'client', 'web-client'];
const IMPORT =
  /(?:^|\s)(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^import\s*['"]([^'"]+)['"]/gms;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every import specifier of each file under `dir`. */
function imports(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of sourceFiles(dir)) {
    const specs = [...readFileSync(file, 'utf8').matchAll(IMPORT)].map(
      (m) => m[1] ?? m[2] ?? m[3]!,
    );
    out.set(file, specs);
  }
  return out;
}

/** The strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(relative(ROOT, w));
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Relative imports resolved to files of the same package. */
function localGraph(pkg: string): Map<string, string[]> {
  const specs = imports(join(ROOT, pkg, 'src'));
  const graph = new Map<string, string[]>();
  for (const [file, list] of specs) {
    graph.set(
      file,
      list
        .filter((s) => s.startsWith('.'))
        .map((s) => resolve(dirname(file), s))
        .filter((t) => specs.has(t)),
    );
  }
  return graph;
}

/** Packages a package's sources must never import (bare specifiers, by prefix). */
const FORBIDDEN: Record<string, string[]> = {
  crypto: ['@sotto/'],
  'server-core': ['@sotto/keyserver', '@sotto/broker', '@sotto/client', 'fastify', '@fastify/'],
  broker: ['@sotto/keyserver', '@sotto/client', 'fastify', '@fastify/'],
  client: ['@sotto/keyserver', '@sotto/broker', '@sotto/server-core'],
  'web-client': ['@sotto/keyserver', '@sotto/broker', '@sotto/server-core', 'dexie'],
};

describe('the import graph', () => {
  it('finds a cycle when there is one (the check is not vacuous)', () => {
    const a = '/x/a.ts';
    const b = '/x/b.ts';
    expect(
      cycles(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ),
    ).toHaveLength(1);
    expect(
      cycles(
        new Map([
          [a, [b]],
          [b, []],
        ]),
      ),
    ).toEqual([]);
  });

  it.each(PACKAGES)('%s/src has no import cycle', (pkg) => {
    expect(cycles(localGraph(pkg))).toEqual([]);
  });

  it.each(Object.entries(FORBIDDEN))('%s/src imports none of %j', (pkg, banned) => {
    const offending: string[] = [];
    for (const [file, specs] of imports(join(ROOT, pkg, 'src'))) {
      for (const s of specs)
        if (banned.some((b) => s === b || s.startsWith(b.endsWith('/') ? b : `${b}/`)))
          offending.push(`${relative(ROOT, file)} → ${s}`);
    }
    expect(offending).toEqual([]);
  });
});
