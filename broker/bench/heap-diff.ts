/**
 * Heap-snapshot diff by constructor (`cost-probe.ts --heap-snapshot-dir=DIR`): what a broker holds
 * per idle connection, as the growth of each (node type, name) between two snapshots of the same
 * process, divided by the connections opened in between.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per `type:name` in a `.heapsnapshot` file. */
export function sizesByConstructor(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    // Strings are grouped by type only: their text is data, not a constructor.
    const name =
      type === 'string' || type === 'concatenated string' || type === 'sliced string'
        ? ''
        : snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 60);
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += snap.nodes[i + sizeAt]!;
    e.count++;
    out.set(key, e);
  }
  return out;
}

/** The `top` largest growths per connection between two snapshots, as table rows. */
export function heapDiffRows(
  before: string,
  after: string,
  connections: number,
  top = 25,
): string[] {
  const a = sizesByConstructor(before);
  const b = sizesByConstructor(after);
  const rows = [...b]
    .map(([key, v]) => {
      const was = a.get(key) ?? { size: 0, count: 0 };
      return {
        key,
        bytes: (v.size - was.size) / connections,
        count: (v.count - was.count) / connections,
      };
    })
    .filter((r) => Math.abs(r.bytes) >= 1)
    .sort((x, y) => y.bytes - x.bytes)
    .slice(0, top);
  return [
    '| node (type:name) | bytes per connection | objects per connection |',
    '|---|---|---|',
    ...rows.map(
      (r) => `| ${r.key.replaceAll('|', '\\|')} | ${r.bytes.toFixed(0)} | ${r.count.toFixed(2)} |`,
    ),
  ];
}
