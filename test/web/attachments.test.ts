/**
 * Hostile attachments in the browser (issue 15 "Media"; real embedded server, Chromium with the
 * CSP on). Bob is an engine in Node and sends Alice: an SVG with a script, an HTML page, a PNG
 * declared `text/html`, a GIF declared `image/svg+xml` and a PDF whose name hides `.exe` behind
 * U+202E. The bytes decide: the GIF is shown inline (as image/gif), the SVG, the HTML page and
 * the PDF are file cards whose names are plain sanitised text, the PNG is a file card until
 * decrypted and then an inline image. Every object URL the page makes is typed by a raster magic
 * number or `application/octet-stream`; each download is a real download under the sanitised
 * name with the exact bytes, and the page neither navigates nor opens anything.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { createClient, createMemoryStore, type SottoClient } from '@sotto/client';
import { expectCspClean, newWatchedUser } from './csp-watch.ts';
import {
  bubble,
  launchChromium,
  openConversation,
  signUp,
  startServer,
  type TestServer,
} from './harness.ts';

const PW = 'correct horse battery';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" onload="parent.owned=1"><script>parent.owned=1</script></svg>',
);
const HTML = Buffer.from('<!doctype html><script>opener.owned=1</script><h1>hi</h1>');
const PDF = Buffer.from('%PDF-1.4\n%hostile\n');
const RLO_NAME = 'invoice\u202Efdp.exe';

/** Types an object URL may have in the page: raster images proven by bytes, or save-only. */
const ALLOWED_URL_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'application/octet-stream',
];

declare global {
  interface Window {
    __blobTypes?: string[];
    owned?: number;
  }
}

/** Record the type of every Blob the page turns into an object URL. */
function recordObjectUrls(): void {
  const create = URL.createObjectURL.bind(URL);
  window.__blobTypes = [];
  URL.createObjectURL = (obj: Blob | MediaSource) => {
    window.__blobTypes?.push(obj instanceof Blob ? obj.type : 'media-source');
    return create(obj);
  };
}

let server: TestServer;
let browser: Browser;
let bob: SottoClient | undefined;

beforeAll(async () => {
  server = await startServer({ mqtt: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await bob?.close().catch(() => undefined);
  await browser?.close();
  await server?.close();
});

const card = (page: Page, name: string) =>
  page.locator('conversation-view message-bubble [data-file-card]', { hasText: name });
const inlineImage = (page: Page, alt: string) =>
  page.locator(`conversation-view message-bubble img[alt="${alt}"]`);

/** Click "Download <name>" and return the download, checking the page stayed where it was. */
async function download(page: Page, name: string) {
  const before = page.url();
  // A bubble's actions show on hover or keyboard focus.
  await page
    .locator('conversation-view message-bubble', { hasText: name })
    .locator('.bubble')
    .hover();
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 30_000 }),
    page.getByRole('button', { name: `Download ${name}` }).click(),
  ]);
  expect(page.url()).toBe(before);
  expect(page.context().pages()).toHaveLength(1);
  return dl;
}

describe('hostile attachments in the web client', () => {
  it('shows only byte-proven raster images inline and saves everything else as a sanitised download', async () => {
    const { page, csp, context } = await newWatchedUser(browser, server.url, [recordObjectUrls]);
    await signUp(page, 'alice', PW);
    bob = createClient({
      store: createMemoryStore(),
      http: { baseUrl: server.url },
      mqttConnect: (o) => mqtt.connect(server.mqttUrl!, { ...o, reconnectPeriod: 200 }),
    });
    await bob.register('bob', PW);
    await bob.start();
    await bob.sendText('dm:alice', 'files coming');
    await openConversation(page, 'dm:bob');
    await bubble(page, 'files coming').waitFor({ timeout: 30_000 });

    await bob.sendFile('dm:alice', SVG, { name: 'hostile.svg', mime: 'image/svg+xml' });
    await bob.sendFile('dm:alice', HTML, { name: 'page.html', mime: 'text/html' });
    await bob.sendFile('dm:alice', PNG, { name: 'pixel.png', mime: 'text/html' });
    await bob.sendFile('dm:alice', GIF, { name: 'anim.gif', mime: 'image/svg+xml' });
    await bob.sendFile('dm:alice', PDF, { name: RLO_NAME, mime: 'application/pdf' });
    await bob.sendText('dm:alice', 'that was all');
    await bubble(page, 'that was all').waitFor({ timeout: 30_000 });

    // The GIF (declared SVG) is fetched, proven GIF by its bytes and shown as an image.
    const gif = inlineImage(page, 'anim.gif');
    await gif.waitFor({ timeout: 30_000 });
    await expect.poll(() => gif.getAttribute('data-full'), { timeout: 30_000 }).toBe('yes');
    expect(
      await gif.evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth)),
    ).toBe(1);

    // The SVG (declared an image, also fetched) is judged by its bytes: a file card, once
    // decrypted no thumbnail or image either; the HTML page and the PDF are file cards.
    await card(page, 'hostile.svg').waitFor();
    await card(page, 'page.html').waitFor();
    await card(page, 'pixel.png').waitFor();
    const safeName = 'invoicefdp.exe';
    await card(page, safeName).waitFor();
    // The name is text, bidi override removed: nothing on the page still holds U+202E.
    expect(
      await page
        .locator('conversation-view')
        .evaluate((el) => el.shadowRoot?.innerHTML.includes('\u202E')),
    ).toBe(false);
    expect(
      await page
        .locator('conversation-view message-bubble', { hasText: 'hostile.svg' })
        .locator('img')
        .count(),
    ).toBe(0);
    expect(
      await page
        .locator('conversation-view message-bubble', { hasText: 'page.html' })
        .locator('img')
        .count(),
    ).toBe(0);

    // Downloads: the sanitised name, the exact bytes, no navigation, no new window.
    for (const [name, bytes] of [
      ['hostile.svg', SVG],
      ['page.html', HTML],
      [safeName, PDF],
      ['pixel.png', PNG],
    ] as const) {
      const dl = await download(page, name);
      expect(dl.suggestedFilename()).toBe(name);
      expect(readFileSync(await dl.path())).toEqual(bytes);
    }

    // Once decrypted, the PNG declared text/html is shown as what its bytes are.
    const png = inlineImage(page, 'pixel.png');
    await png.waitFor({ timeout: 10_000 });
    expect(await png.getAttribute('data-full')).toBe('yes');
    expect(await card(page, 'pixel.png').count()).toBe(0);

    // No object URL ever held an active type; none of the hostile scripts ran.
    const types = await page.evaluate(() => window.__blobTypes ?? []);
    expect(types).toContain('image/gif');
    expect(types).toContain('image/png');
    expect(types).toContain('application/octet-stream');
    expect(types.filter((t) => !ALLOWED_URL_TYPES.includes(t))).toEqual([]);
    expect(await page.evaluate(() => window.owned)).toBeUndefined();
    await expectCspClean(csp, page, 'hostile attachments');
    await context.close();
  });
});
