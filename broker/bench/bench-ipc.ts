/**
 * The IPC side of a broker process forked by broker.bench.ts and cost-probe.ts (bench-broker.ts,
 * plain-aedes.ts): `mem` answers {@link MemFigures} after a full GC, `snapshot` writes a heap
 * snapshot, `exit` ends the process (so a `--cpu-prof` profile is written), and `ready` is sent
 * once.
 */
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

/**
 * A broker process's memory after a full GC (`process.memoryUsage()` plus V8's young
 * generation), bytes. `rss` is everything resident; `heapTotal` is the V8 heap V8 has reserved
 * (of which `heapUsed` is live objects and `newSpace` the young generation, empty after the GC
 * but kept at the size it grew to); `external` is memory outside the heap that V8 objects own
 * (Buffers and other ArrayBuffers, of which `arrayBuffers`). What RSS holds beyond `heapTotal`
 * and `external` is native: libuv handles, Node's C++ objects, code, and malloc's free lists.
 */
export interface MemFigures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  newSpace: number;
  external: number;
  arrayBuffers: number;
}

export function serveBenchIpc(): void {
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'exit') process.exit(0);
    if (m.cmd === 'snapshot') {
      // cost-probe.ts --heap-snapshot-dir: a heap snapshot to diff by constructor.
      global.gc?.();
      const file = writeHeapSnapshot((m as { cmd: string; file?: string }).file);
      process.send?.({ cmd: 'snapshot', file });
    }
    if (m.cmd === 'mem') {
      global.gc?.();
      const mem = process.memoryUsage();
      const figures: MemFigures = {
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        heapTotal: mem.heapTotal,
        newSpace:
          getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0,
        external: mem.external,
        arrayBuffers: mem.arrayBuffers,
      };
      process.send?.({ cmd: 'mem', ...figures });
    }
  });
  process.send?.({ cmd: 'ready' });
}
