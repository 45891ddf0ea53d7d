/**
 * Writes the device-linking known-answer vectors to test/vectors/link.json
 * (`npm run vectors:link -w crypto`). Run it only when the link code or the
 * LINK envelope changes on purpose; test/link.test.ts fails on any difference.
 */
import { writeFileSync } from 'node:fs';
import { ready } from '../src/sodium.ts';
import { computeLinkVectors } from './link-vectors.ts';

await ready();
const out = new URL('../test/vectors/link.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(computeLinkVectors(), null, 2)}\n`);
console.log(`wrote ${out.pathname}`);
