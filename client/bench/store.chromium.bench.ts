/**
 * `npx tsx client/bench/store.chromium.bench.ts [--base COMMIT] [--quick] [--rounds N] [--indexes]` (issue 15): the
 * browser store's own costs in headless Chromium's real IndexedDB, for the current code and —
 * with `--base` — for the client sources (store, postings, sealing) as they were at COMMIT, in
 * the same run and the same browser, alternating rounds:
 *
 * - incoming persistence: 20,000 messages written in batches of 500 (the engine's burst path);
 * - opening a conversation of 100,000 messages as the virtual list does before its first paint:
 *   open the database, count, read the newest page of 50;
 * - search for two words, and for a prefix, in that conversation: the first searches (which
 *   merge the postings they read) and the same again (steady state);
 * - edit and delete messages of that conversation, one op a batch.
 *
 * `--persist` runs only the incoming persistence (and its floor), the steps above it skipped.
 *
 * `--indexes` instead measures incoming persistence of the same sealed rows into tables of
 * different shapes: no index, each index of the messages table alone, all of them, and several
 * rows packed per record (issue 15's 4,000 msg/s).
 *
 * Results: a Markdown table on stdout, then `BENCH` lines (scripts/bench-lib.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { printBench } from '../../scripts/bench-lib.ts';
import { launchChromium } from '../../test/web/harness.ts';

const QUICK = process.argv.includes('--quick');
/** Only incoming persistence and its floor (no large conversation, searches or edits). */
const PERSIST_ONLY = process.argv.includes('--persist');
const baseAt = process.argv.indexOf('--base');
const BASE = baseAt >= 0 ? process.argv[baseAt + 1] : undefined;
const PERSIST = QUICK ? 5000 : 20_000;
const LARGE = QUICK ? 20_000 : 100_000;
/** Edits and deletes measured per round (each its own batch). */
const EDITS = 20;
const roundsAt = process.argv.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : QUICK ? 1 : 3;
const ROOT = join(import.meta.dirname, '..', '..');
/** `BENCH_PROFILE=DIR`: Chromium CPU profiles of each persistence run and edit run, and their top functions. */
const PROFILE = process.env.BENCH_PROFILE;

/**
 * The page script bundled with the client sources under `src` (the page's `../src/…` imports:
 * the store, its sealing layer and everything they import).
 */
async function bundle(src: string): Promise<string> {
  const out = await build({
    entryPoints: [join(import.meta.dirname, 'store-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'error',
    plugins: [
      {
        name: 'store-under-test',
        setup(b) {
          b.onResolve({ filter: /^\.\.\/src\// }, (args) => ({
            path: join(src, args.path.slice('../src/'.length)),
          }));
        },
      },
    ],
  });
  return out.outputFiles[0]!.text;
}

/**
 * Run `fn` under the page's CPU profiler; write `DIR/store-<label>.cpuprofile` (open it in
 * Chromium's DevTools) and print the top self-time functions to stderr.
 */
async function profiled<T>(page: Page, label: string, fn: () => Promise<T>): Promise<T> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const out = await fn();
  const { profile } = await cdp.send('Profiler.stop');
  mkdirSync(PROFILE!, { recursive: true });
  writeFileSync(join(PROFILE!, `store-${label}.cpuprofile`), JSON.stringify(profile));
  const self = new Map<string, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map<number, number>();
  for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  let total = 0;
  for (const [id, n] of hits) {
    const f = byId.get(id)!.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + n);
    total += n;
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  for (const [name, n] of top)
    console.error(`${((100 * n) / total).toFixed(1).padStart(5)} % ${name}`);
  await cdp.detach();
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `--indexes`: what each index of the sealed messages table costs on incoming persistence, and
 * what packing several sealed rows per IndexedDB record would reach (issue 15's 4,000 msg/s),
 * the shapes interleaved round by round in one page; a Markdown table of medians on stdout.
 */
const SHAPES: { label: string; schema: string; pack: number }[] = [
  { label: 'no index (floor)', schema: 'id', pack: 1 },
  { label: '+ c', schema: 'id, c', pack: 1 },
  { label: '+ [c+t]', schema: 'id, [c+t]', pack: 1 },
  { label: '+ unreadIn', schema: 'id, unreadIn', pack: 1 },
  { label: '+ *w (search keys)', schema: 'id, *w', pack: 1 },
  { label: 'all five (the v4 store’s table)', schema: 'id, c, [c+t], unreadIn, *w', pack: 1 },
  {
    label: 'id, c, [c+t], unreadIn (the v5 store’s table)',
    schema: 'id, c, [c+t], unreadIn',
    pack: 1,
  },
  { label: 'id, [c+t], unreadIn (v5 without c)', schema: 'id, [c+t], unreadIn', pack: 1 },
  { label: 'packed: 10 rows a record, no index', schema: 'id', pack: 10 },
  { label: 'packed: 100 rows a record, no index', schema: 'id', pack: 100 },
];

async function indexCosts(url: string): Promise<void> {
  const browser = await launchChromium();
  const got = new Map<string, number[]>();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    await page.addScriptTag({ url: `${url}/now.js`, type: 'module' });
    await page.waitForFunction(() => 'storeBench' in window);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [k, shape] of SHAPES.entries()) {
        const rate = await page.evaluate(
          ([name, n, schema, pack]) => window.storeBench.persistShape(name, n, 500, schema, pack),
          [`shape-${round}-${k}`, PERSIST, shape.schema, shape.pack] as const,
        );
        got.set(shape.label, [...(got.get(shape.label) ?? []), rate]);
        console.error(`round ${round + 1} ${shape.label}: ${Math.round(rate)} msg/s`);
      }
    }
  } finally {
    await browser.close();
  }
  const floor = median(got.get(SHAPES[0]!.label)!);
  console.log(
    `| table shape (${PERSIST} sealed rows, batches of 500) | msg/s (median of ${ROUNDS}) | vs floor |`,
  );
  console.log('|---|---|---|');
  for (const { label } of SHAPES) {
    const m = median(got.get(label)!);
    console.log(`| ${label} | ${Math.round(m)} | ${(m / floor).toFixed(2)} |`);
  }
}

async function main(): Promise<void> {
  const scripts: Record<string, string> = { now: await bundle(join(ROOT, 'client', 'src')) };
  if (BASE !== undefined) {
    // The client sources as they were at BASE, inside the repository so that their package
    // imports resolve as the current ones do.
    const old = mkdtempSync(join(ROOT, 'client', '.bench-base-'));
    try {
      execFileSync('sh', ['-c', `git archive ${BASE} client/src | tar -x -C ${old}`], {
        cwd: ROOT,
      });
      scripts.base = await bundle(join(old, 'client', 'src'));
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  }
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1).replace(/\.js$/, '');
    const script = scripts[name];
    if (script !== undefined) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><title>store bench</title>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (process.argv.includes('--indexes')) {
    try {
      await indexCosts(url);
    } finally {
      server.close();
    }
    return;
  }
  const browser = await launchChromium();
  const results: Record<
    string,
    {
      persist: number[];
      open: number[];
      word: number[];
      prefix: number[];
      wordAgain: number[];
      prefixAgain: number[];
      edit: number[];
      delete: number[];
    }
  > = {};
  const floor: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const version of Object.keys(scripts)) {
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(url);
        await page.addScriptTag({ url: `${url}/${version}.js`, type: 'module' });
        await page.waitForFunction(() => 'storeBench' in window);
        const r = (results[version] ??= {
          persist: [],
          open: [],
          word: [],
          prefix: [],
          wordAgain: [],
          prefixAgain: [],
          edit: [],
          delete: [],
        });
        // Every version's page writes the floor first, not only the current one's: the floor's
        // 5,000 sealed rows also warm the page (JIT, libsodium, the database's backing store), and
        // a base timed cold came out ~30 % slower than the very same code timed warm (--base HEAD,
        // 2026-12-07). The reference row is the current page's floor.
        const pageFloor = await page.evaluate(
          ([n]) => window.storeBench.persistFloor('floor', n!, 500),
          [PERSIST],
        );
        if (version === 'now') floor.push(pageFloor);
        const persist = () =>
          page.evaluate(([n]) => window.storeBench.persist('persist', n!, 500), [PERSIST]);
        r.persist.push(
          PROFILE === undefined
            ? await persist()
            : await profiled(page, `${version}-${round}`, persist),
        );
        if (PERSIST_ONLY) {
          await context.close();
          console.error(`round ${round + 1} ${version}: ${Math.round(r.persist.at(-1)!)} msg/s`);
          continue;
        }
        await page.evaluate(([n]) => window.storeBench.fill('large', n!), [LARGE]);
        for (let i = 0; i < 3; i++)
          r.open.push(await page.evaluate(() => window.storeBench.openLarge('large')));
        const s = await page.evaluate(() => window.storeBench.search('large'));
        r.word.push(s.word);
        r.prefix.push(s.prefix);
        r.wordAgain.push(s.wordAgain);
        r.prefixAgain.push(s.prefixAgain);
        const edits = () =>
          page.evaluate(([n, k]) => window.storeBench.editDelete('large', n!, k!), [LARGE, EDITS]);
        const e =
          PROFILE === undefined
            ? await edits()
            : await profiled(page, `edits-${version}-${round}`, edits);
        r.edit.push(e.edit);
        r.delete.push(e.delete);
        await context.close();
        console.error(`round ${round + 1} ${version}: ${JSON.stringify(r)}`);
      }
    }
  } finally {
    await browser.close();
    server.close();
  }
  const ms = (xs: number[]) => (xs.length === 0 ? NaN : +median(xs).toFixed(1));
  const rows = Object.entries(results).map(([v, r]) => ({
    v: v === 'now' ? 'current' : `base ${BASE}`,
    persist: Math.round(median(r.persist)),
    open: ms(r.open),
    word: ms(r.word),
    prefix: ms(r.prefix),
    wordAgain: ms(r.wordAgain),
    prefixAgain: ms(r.prefixAgain),
    edit: ms(r.edit),
    delete: ms(r.delete),
  }));
  console.log(
    `| store | persist msg/s (${PERSIST}, batches of 500) | open ${LARGE} → first page (ms) | first search: two words / prefix (ms) | again (ms) | edit / delete, median of ${EDITS} (ms) |`,
  );
  console.log('|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.v} | ${r.persist} | ${r.open} | ${r.word} / ${r.prefix} | ${r.wordAgain} / ${r.prefixAgain} | ${r.edit} / ${r.delete} |`,
    );
  console.log(
    `| reference: the same sealed rows, no index (IndexedDB's floor) | ${Math.round(median(floor))} | | | | |`,
  );
  printBench([
    {
      name: 'Chromium store reference: sealed rows without indexes',
      value: Math.round(median(floor)),
      unit: 'msg/s',
    },
    ...rows.flatMap((r) => [
      { name: `Chromium store ${r.v}: incoming persistence`, value: r.persist, unit: 'msg/s' },
      {
        name: `Chromium store ${r.v}: open ${LARGE}-message conversation, first page`,
        value: r.open,
        unit: 'ms',
      },
      {
        name: `Chromium store ${r.v}: search two words in ${LARGE} messages, merged`,
        value: r.wordAgain,
        unit: 'ms',
      },
      { name: `Chromium store ${r.v}: edit a message`, value: r.edit, unit: 'ms' },
    ]),
  ]);
}

await main();
