/**
 * Video and the media viewer in the browser (issue 18; real embedded server, two Chromium
 * profiles, CSP on). Alice sends two images and a WebM video (recorded in her page from a
 * canvas, so the bytes are a real stream): the video goes with a first-frame thumbnail made in
 * her page and plays inline at Bob's (frames decoded, time advancing); a 1-pixel image is shown
 * in a box with its rounded corners intact rather than cut to a dot; clicking a photo opens the
 * viewer, which pages through the conversation's photos and videos with the arrow keys and a
 * swipe, downloads the exact bytes, and closes on Escape. The conversation info's Media tab
 * lists the three; a sticker from the built-in pack arrives as an image.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { expectCspClean, newWatchedUser } from './csp-watch.ts';
import {
  bubble,
  launchChromium,
  openConversation,
  send,
  shot,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';

const PNG_1PX = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A 240×160 PNG and a 1.2 s WebM (VP8) drawn on a canvas in `page`. */
async function makeMedia(page: Page): Promise<{ png: Buffer; webm: Buffer }> {
  const { png, webm } = await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 240;
    c.height = 160;
    const g = c.getContext('2d')!;
    const paint = (t: number): void => {
      g.fillStyle = `hsl(${(t * 40) % 360} 70% 50%)`;
      g.fillRect(0, 0, 240, 160);
      g.fillStyle = '#fff';
      g.fillRect(20 + (t % 10) * 15, 60, 40, 40);
    };
    paint(0);
    const pngBlob = await new Promise<Blob>((r) => c.toBlob((b) => r(b!), 'image/png'));
    const rec = new MediaRecorder(c.captureStream(25), { mimeType: 'video/webm;codecs=vp8' });
    const chunks: Blob[] = [];
    rec.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((r) => (rec.onstop = r));
    rec.start(100);
    for (let t = 0; t < 30; t++) {
      paint(t);
      await new Promise((r) => setTimeout(r, 40));
    }
    rec.stop();
    await stopped;
    const bytes = async (b: Blob) => [...new Uint8Array(await b.arrayBuffer())];
    return { png: await bytes(pngBlob), webm: await bytes(new Blob(chunks)) };
  });
  return { png: Buffer.from(png), webm: Buffer.from(webm) };
}

/** Attach files through the composer's file input. */
async function attach(page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) {
  await page.locator('chat-composer input[type=file]').setInputFiles(files);
}

const viewer = (page: Page) => page.locator('media-viewer');
const position = (page: Page) =>
  viewer(page).locator('[data-position]').getAttribute('data-position');

describe('video and the media viewer', () => {
  it('sends a video with its first frame, plays it inline, and pages through media', async () => {
    const a = await newWatchedUser(browser, server.url);
    const b = await newWatchedUser(browser, server.url);
    await signUp(a.page, 'alice');
    await signUp(b.page, 'bob');
    await startDm(a.page, 'bob');
    await send(a.page, 'media coming');
    await openConversation(b.page, 'dm:alice');
    await bubble(b.page, 'media coming').waitFor({ timeout: 30_000 });

    const { png, webm } = await makeMedia(a.page);
    expect(webm.subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
    await attach(a.page, [{ name: 'pixel.png', mimeType: 'image/png', buffer: PNG_1PX }]);
    await attach(a.page, [{ name: 'canvas.png', mimeType: 'image/png', buffer: png }]);
    await attach(a.page, [{ name: 'clip.webm', mimeType: 'video/webm', buffer: webm }]);
    await send(a.page, 'that was all');
    await bubble(b.page, 'that was all').waitFor({ timeout: 30_000 });

    // The video arrived (each attachment goes on its own, so it may come after the text) with
    // the sender's first-frame thumbnail, in the encrypted payload.
    const video = b.page.locator('conversation-view message-bubble video.video');
    await video.waitFor({ timeout: 30_000 });
    const stored = await b.page.locator('conversation-view message-list').evaluate(async (el) => {
      const list = el as unknown as {
        session: { history: { media(id: string): Promise<{ body: Record<string, unknown> }[]> } };
      };
      return (await list.session.history.media('dm:alice')).map((m) => m.body);
    });
    expect(stored.map((m) => m.name)).toEqual(['pixel.png', 'canvas.png', 'clip.webm']);
    const thumb = stored[2]!.thumbnail as { mime: string; width: number; height: number };
    expect(thumb.mime).toMatch(/^image\/(webp|jpeg)$/);
    expect([thumb.width, thumb.height]).toEqual([240, 160]);

    // Inline playback: decrypted, typed by its container, frames decoded, time advancing.
    expect(await video.getAttribute('poster')).toMatch(/^data:image\/(webp|jpeg);base64,/);
    const played = await video.evaluate(async (v: HTMLVideoElement) => {
      v.muted = true;
      await v.play();
      await new Promise<void>((resolve) => {
        const check = (): void => (v.currentTime > 0.3 ? resolve() : void setTimeout(check, 50));
        check();
      });
      return { width: v.videoWidth, time: v.currentTime, src: v.src };
    });
    expect(played.width).toBe(240);
    expect(played.src).toMatch(/^blob:/);

    // A 1-pixel image sits in a box big enough for its rounded corners.
    const pixel = b.page.locator('conversation-view message-bubble img[alt="pixel.png"]');
    await expect.poll(() => pixel.getAttribute('data-full'), { timeout: 30_000 }).toBe('yes');
    const box = (await pixel.boundingBox())!;
    expect(box.width).toBeGreaterThanOrEqual(96);
    expect(box.height).toBeGreaterThanOrEqual(64);

    // The viewer: open on the second photo, page with keys and a swipe, download, close.
    const canvasImg = b.page.locator('conversation-view message-bubble img[alt="canvas.png"]');
    await expect.poll(() => canvasImg.getAttribute('data-full'), { timeout: 30_000 }).toBe('yes');
    await b.page.getByRole('button', { name: 'Open canvas.png full size' }).click();
    await b.page.getByRole('dialog', { name: 'Photos and videos' }).waitFor();
    expect(await position(b.page)).toBe('2/3');
    await expect
      .poll(() => viewer(b.page).locator('img[data-full="yes"]').getAttribute('alt'))
      .toBe('canvas.png');
    await shot(b.page, 'media-viewer');
    await b.page.keyboard.press('ArrowRight');
    expect(await position(b.page)).toBe('3/3');
    await viewer(b.page).locator('video').waitFor();
    await b.page.keyboard.press('ArrowRight'); // the last: stays
    expect(await position(b.page)).toBe('3/3');
    await b.page.keyboard.press('ArrowLeft');
    await b.page.keyboard.press('ArrowLeft');
    expect(await position(b.page)).toBe('1/3');
    // Swipe right-to-left: next.
    const stage = viewer(b.page).locator('.stage');
    await stage.dispatchEvent('pointerdown', { pointerType: 'touch', clientX: 400, clientY: 300 });
    await stage.dispatchEvent('pointerup', { pointerType: 'touch', clientX: 200, clientY: 300 });
    expect(await position(b.page)).toBe('2/3');
    const [dl] = await Promise.all([
      b.page.waitForEvent('download', { timeout: 30_000 }),
      viewer(b.page).getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(dl.suggestedFilename()).toBe('canvas.png');
    expect(readFileSync(await dl.path())).toEqual(png);
    await b.page.keyboard.press('Escape');
    await expect.poll(() => viewer(b.page).count()).toBe(0);

    // The Media tab of the conversation info: the three, newest first; a tile opens the viewer.
    await b.page.evaluate(() => (location.hash = '#/c/dm:alice/info'));
    await b.page.getByRole('tab', { name: 'Media' }).click();
    const grid = b.page.locator('conversation-media .grid');
    await grid.waitFor({ timeout: 20_000 });
    expect(await grid.getAttribute('data-count')).toBe('3');
    await shot(b.page, 'media-tab');
    await b.page.getByRole('listitem', { name: 'Open clip.webm full size' }).click();
    expect(await position(b.page)).toBe('3/3');
    await b.page.keyboard.press('Escape');
    await openConversation(b.page, 'dm:alice');

    // A sticker from the built-in pack arrives as an image (drawn in Alice's page).
    await a.page.getByRole('button', { name: 'Stickers' }).click();
    await a.page.getByRole('button', { name: 'Send sticker: Heart' }).click();
    const sticker = b.page.locator('conversation-view message-bubble img[alt="sticker-heart.png"]');
    await expect.poll(() => sticker.getAttribute('data-full'), { timeout: 30_000 }).toBe('yes');
    expect(
      await sticker.evaluate((img: HTMLImageElement) => img.decode().then(() => img.naturalWidth)),
    ).toBe(256);

    await expectCspClean(a.csp, a.page, 'alice');
    await expectCspClean(b.csp, b.page, 'bob');
    await a.context.close();
    await b.context.close();
  });
});
