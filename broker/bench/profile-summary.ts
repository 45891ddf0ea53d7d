/**
 * Self time of a V8 CPU profile by module and by function
 * (`npx tsx broker/bench/profile-summary.ts FILE.cpuprofile [--from=MS --to=MS] [--per=N]
 * [--top=25]`), issue 20: to compare the profiles `broker.bench.ts --cpu-prof-dir` writes for our
 * broker and plain Aedes. Prints the busy time per second of the profile (to pick the window of a
 * phase), then, within `--from`/`--to` (ms from the profile's start): self time per module (npm
 * package, Node's internals by area, our packages, native bindings, GC), the top functions by
 * self time, and our own functions by inclusive time. `--per=N` adds µs per unit of work (e.g.
 * the deliveries the bench counted in the window).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const NOT_BUSY = new Set(['(idle)', '(program)']);

/** The module a frame belongs to: a package, an area of Node, one of ours, native or V8. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'native (C++ bindings)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return `node:${parts[0] === 'internal' && parts.length > 2 ? `internal/${parts[1]}` : parts[0]}`;
  }
  const ours = /\/(broker|server-core|crypto)\/(src|dist)\//.exec(url);
  return ours ? `sotto ${ours[1]}` : url.replace(/^.*\//, '');
}

/** Self and inclusive µs per function and self µs per module, for samples in [from, to) ms. */
export function summarize(profile: Profile, fromMs = 0, toMs = Infinity) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules\/|broker\/|server-core\/|crypto\/)/, '$1')}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const modules = new Map<string, number>();
  const perSecond: number[] = [];
  let t = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    // A sample stands for the time until the next one.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    t += profile.timeDeltas[i] ?? 0;
    const node = byId.get(id)!;
    const fn = node.callFrame.functionName;
    const second = Math.floor(t / 1e6);
    if (!NOT_BUSY.has(fn)) perSecond[second] = (perSecond[second] ?? 0) + dt;
    if (t < fromMs * 1000 || t >= toMs * 1000 || NOT_BUSY.has(fn)) return;
    busy += dt;
    self.set(key(node), (self.get(key(node)) ?? 0) + dt);
    const mod = moduleOf(node.callFrame.url, fn);
    modules.set(mod, (modules.get(mod) ?? 0) + dt);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = node; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  });
  return { busy, self, inclusive, modules, perSecond: [...perSecond].map((v) => v ?? 0) };
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new TypeError('usage: profile-summary.ts FILE.cpuprofile [--from=MS --to=MS]');
  const arg = (name: string) =>
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const per = Number(arg('per') ?? NaN);
  const top = Number(arg('top') ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const s = summarize(profile, Number(arg('from') ?? 0), Number(arg('to') ?? Infinity));
  console.log(`busy ms per second: ${s.perSecond.map((v) => Math.round(v / 1000)).join(' ')}`);
  console.log(`busy in window: ${(s.busy / 1000).toFixed(0)} ms`);
  const rows = (title: string, m: Map<string, number>, filter = (_k: string) => true) => {
    console.log(`\n| ${title} | ms | % of busy |${per ? ' µs per unit |' : ''}`);
    console.log(`|---|---|---|${per ? '---|' : ''}`);
    for (const [k, v] of [...m]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top))
      console.log(
        `| ${k.replaceAll('|', '\\|')} | ${(v / 1000).toFixed(1)} | ${((100 * v) / s.busy).toFixed(1)} |${per ? ` ${(v / per).toFixed(2)} |` : ''}`,
      );
  };
  rows('module (self time)', s.modules);
  rows('function (self time)', s.self);
  rows('our function (inclusive time)', s.inclusive, (k) =>
    /(^| )(broker|server-core|crypto)\/(src|dist)\//.test(k),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) main();
