import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { launchChromium } from '../../test/web/harness.ts';
const out = await build({ entryPoints: [join(import.meta.dirname, 'idb-exp.page.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'error' });
const js = out.outputFiles[0]!.text;
const server = createServer((req, res) => {
  if (req.url === '/x.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
  res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>x</title>');
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await launchChromium();
for (let round = 0; round < 2; round++) {
  const ctx = await browser.newContext(); const page = await ctx.newPage();
  await page.goto(url); await page.addScriptTag({ url: url + '/x.js', type: 'module' });
  await page.waitForFunction(() => 'exp' in window);
  console.log(JSON.stringify(await page.evaluate(() => (window as any).exp.run(20000))));
  await ctx.close();
}
await browser.close(); server.close();
