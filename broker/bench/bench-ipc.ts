/**
 * The IPC side of a broker process forked by broker.bench.ts (bench-broker.ts,
 * plain-aedes.ts): `mem` answers the RSS and V8 heap in use after a full GC, `exit` ends the
 * process (so a `--cpu-prof` profile is written), and `ready` is sent once.
 */
import { writeHeapSnapshot } from 'node:v8';

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
      process.send?.({ cmd: 'mem', rss: mem.rss, heap: mem.heapUsed });
    }
  });
  process.send?.({ cmd: 'ready' });
}
