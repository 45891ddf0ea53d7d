/**
 * Join benchmark (issue 17 target): a room of about 1,000 member devices — 2 active senders
 * posting every 250 ms and 995 members with published keys but no connection — and 3 joiners in
 * turn, the last making it 1,000 (the protocol's cap on members). Measured: from `groups.join()` until the joiner has decrypted a message from
 * every active sender (the key server's join checks, the members adopting the join, their sender
 * keys reaching the joiner). Reference in the same run: the same join into a 3-device room.
 * Median of 3 joiners each. Target: under 5 s on the 1,000-device room.
 *
 * `npm run bench -w client` runs it after client.bench.ts; `--quick`: 100 devices; `--devices=N`.
 */
import { DEFAULT_OPTIONS } from '../src/api.ts';
import type { SottoClient } from '../src/engine.ts';
import { createMemoryStore } from '../src/stores/memory.ts';
import { makeClient, startServer, uname, until, type TestServer } from '../test/support/server.ts';
import { printBench } from '../../scripts/bench-lib.ts';
import { passiveMembers } from '../test/support/members.ts';

const PW = 'correct horse battery';
const quick = process.argv.includes('--quick');
const devicesArg = process.argv.find((a) => a.startsWith('--devices='))?.slice(10);
const DEVICES = devicesArg ? Number(devicesArg) : quick ? 100 : 1000;
const SENDERS = 2;
const JOINERS = 3;

async function engine(srv: TestServer): Promise<SottoClient & { name: string }> {
  // The product's re-send interval (30 s), not the tests' 3 s: the 995 members never answer, so
  // every re-send goes to all of them again.
  const c = makeClient(srv, createMemoryStore(), undefined, {
    resendAfterMs: DEFAULT_OPTIONS.resendAfterMs,
  });
  const name = uname('j');
  await c.register(name, PW, { kind: 'bot' });
  await c.start();
  return Object.assign(c, { name });
}

/** Median join time (ms) into an open room of `devices` member devices. */
async function joinTimes(srv: TestServer, devices: number): Promise<number[]> {
  const senders = await Promise.all(Array.from({ length: SENDERS }, () => engine(srv)));
  // The joiners stay members: the room reaches `devices` with the last one (the protocol caps a
  // room at 1,000 members, PROTOCOL.md §8.1).
  const passive = await passiveMembers(srv.httpUrl, devices - SENDERS - JOINERS, PW);
  const [admin, ...others] = senders;
  const groupId = await admin!.groups.create(`bench ${devices}`, [
    ...others.map((s) => s.name),
    ...passive,
  ]);
  await admin!.groups.setPolicy(groupId, { join: 'open' });
  for (const s of others)
    await until(
      async () => (await s.groups.list()).some((g) => g.groupId === groupId),
      'senders know the room',
      120_000,
    );
  let stop = false;
  const sendMs: number[] = [];
  // What went wrong on the senders' side, by error code (a 429 from the directory, say).
  const errors = new Map<string, number>();
  const count = (e: unknown, prefix = ''): void => {
    const code = prefix + ((e as { code?: string }).code ?? (e as Error).message.slice(0, 60));
    errors.set(code, (errors.get(code) ?? 0) + 1);
  };
  for (const s of senders) s.on('error', (e: unknown) => count(e));
  const sent = senders.map(() => 0);
  const loops = senders.map(async (s, i) => {
    for (let n = 0; !stop; n++) {
      const t = performance.now();
      try {
        await s.sendText(`group:${groupId}`, `s${i} ${n}`);
        sent[i]!++;
      } catch (e) {
        count(e, 'send ');
      }
      sendMs.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  const times: number[] = [];
  try {
    // Active senders: each has handed its sender key to every member device (its first send in
    // the room, minutes for 1,000 devices) before a join is timed.
    await until(() => sent.every((n) => n >= 2), 'every sender past its first send', 1_800_000);
    for (let j = 0; j < JOINERS; j++) {
      const joiner = await engine(srv);
      const from = new Set<string>();
      joiner.on('message', (m) => {
        if (m.conversationId === `group:${groupId}`) from.add(m.sender);
      });
      const t0 = performance.now();
      await joiner.groups.join(groupId);
      await until(() => from.size === SENDERS, 'the joiner reads every active sender', 120_000);
      times.push(performance.now() - t0);
      await joiner.close();
    }
  } finally {
    stop = true;
    await Promise.all(loops);
    const sorted = [...sendMs].sort((a, b) => a - b);
    console.log(
      `${devices} devices: ${sendMs.length} sends, send time median ${median(sendMs).toFixed(0)} ms, ` +
        `max ${sorted.at(-1)?.toFixed(0)} ms; joins ${times.map((x) => x.toFixed(0)).join(', ')} ms; ` +
        `sender errors ${JSON.stringify(Object.fromEntries(errors))}`,
    );
    for (const s of senders) await s.close();
  }
  return times;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const srv = await startServer();
  try {
    const small = await joinTimes(srv, 3);
    const big = await joinTimes(srv, DEVICES);
    console.log(
      `join → next message of each of ${SENDERS} active senders (ms): ` +
        `${DEVICES} devices ${big.map((x) => x.toFixed(0)).join(', ')}; ` +
        `3 devices ${small.map((x) => x.toFixed(0)).join(', ')}`,
    );
    printBench([
      {
        name: `join a ${DEVICES}-device open room → next message of every active sender (target < 5 s)`,
        value: median(big),
        unit: 'ms',
        reference: { name: 'same join into a 3-device room', value: median(small), unit: 'ms' },
      },
    ]);
  } finally {
    await srv.close();
  }
}

await main();
process.exit(0);
