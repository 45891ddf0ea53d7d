/**
 * Writes the crypto core's known-answer vectors to test/vectors/core.json
 * (`npm run vectors -w crypto`). Run it only when a byte format changes on
 * purpose, and say so in the commit: test/kat.test.ts fails on any difference.
 */
import { writeFileSync } from 'node:fs';
import { ready } from '../src/sodium.ts';
import { computeCoreVectors } from './core-vectors.ts';

await ready();
const out = new URL('../test/vectors/core.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(computeCoreVectors(), null, 2)}\n`);
console.log(`wrote ${out.pathname}`);
