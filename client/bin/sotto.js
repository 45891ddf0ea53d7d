#!/usr/bin/env node
// `sotto` CLI entry: runs the TypeScript source through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
const { run, explain } = await import('../src/cli/main.ts');
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => process.exit(explain(err)),
);
