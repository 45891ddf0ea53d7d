/**
 * Voice notes in the browser (issue 18; real embedded server, two Chromium profiles with a fake
 * microphone, CSP on): Alice records a note by clicking the microphone and sends it; Bob sees
 * the sender's waveform, plays it (the audio element really advances), changes the speed and
 * seeks with the keyboard; Alice's tick turns "Played" from Bob's encrypted `played` receipt.
 * Hold-to-record sends on release; a cancelled recording sends nothing (checked after a later
 * text arrived).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { expectCspClean, newWatchedUser } from './csp-watch.ts';
import {
  FAKE_MEDIA_ARGS,
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

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer();
  browser = await launchChromium(FAKE_MEDIA_ARGS);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const notes = (page: Page): Locator => page.locator('conversation-view message-bubble voice-note');
const recording = (page: Page): Locator => page.locator('chat-composer .recording');
const mic = (page: Page): Locator => page.getByRole('button', { name: /Record a voice note/ });

/** Wait until the composer has recorded at least `ms`. */
async function recordedAtLeast(page: Page, ms: number): Promise<void> {
  await expect
    .poll(async () => Number(await recording(page).getAttribute('data-elapsed-ms')), {
      timeout: 15_000,
    })
    .toBeGreaterThanOrEqual(ms);
}

/** The `<audio>` state of the `i`-th voice note. */
function audioState(page: Page, i: number) {
  return notes(page)
    .nth(i)
    .evaluate((el) => {
      const a = el.shadowRoot?.querySelector('audio');
      return a
        ? { currentTime: a.currentTime, rate: a.playbackRate, paused: a.paused, type: a.src }
        : null;
    });
}

describe('voice notes', () => {
  it('record → send → play with speed and seek on the other side, played receipt back', async () => {
    const a = await newWatchedUser(browser, server.url);
    const b = await newWatchedUser(browser, server.url);
    await signUp(a.page, 'alice');
    await signUp(b.page, 'bob');
    await startDm(a.page, 'bob');
    await send(a.page, 'voice coming');
    await openConversation(b.page, 'dm:alice');
    await bubble(b.page, 'voice coming').waitFor({ timeout: 30_000 });

    // Click to record (a short press): recording goes on until "Send the voice note".
    await mic(a.page).click();
    await recording(a.page).waitFor();
    expect(await mic(a.page).getAttribute('aria-pressed')).toBe('true');
    await recordedAtLeast(a.page, 2000);
    await a.page.getByRole('button', { name: 'Send the voice note' }).click();
    await notes(a.page).first().waitFor({ timeout: 30_000 });
    expect(await recording(a.page).count()).toBe(0);

    // Bob: the sender's waveform (the fake microphone's beep is not silence), then the audio.
    const note = notes(b.page).first();
    await note.waitFor({ timeout: 30_000 });
    const levels = await note.evaluate((el) => [...(el as unknown as { levels: number[] }).levels]);
    expect(levels.length).toBe(48);
    expect(Math.max(...levels)).toBe(1);
    const durationMs = await note.evaluate(
      (el) => (el as unknown as { durationMs: number }).durationMs,
    );
    expect(durationMs).toBeGreaterThanOrEqual(1500);
    expect(durationMs).toBeLessThan(15_000);
    expect(await note.getByRole('img', { name: 'Not played yet' }).count()).toBe(1);
    const play = note.getByRole('button', { name: 'Play voice note' });
    await expect.poll(() => play.isEnabled(), { timeout: 30_000 }).toBe(true);
    expect((await audioState(b.page, 0))?.type).toMatch(/^blob:/);

    await play.click();
    await expect
      .poll(async () => (await audioState(b.page, 0))?.currentTime ?? 0, { timeout: 15_000 })
      .toBeGreaterThan(0.2);
    expect(await note.getByRole('img', { name: 'Not played yet' }).count()).toBe(0);

    // Speed 1× → 1.5× → 2×, applied to the playing audio.
    const speed = note.getByRole('button', { name: /Playback speed/ });
    await speed.click();
    expect(await speed.getAttribute('data-speed')).toBe('1.5');
    await speed.click();
    expect(await speed.getAttribute('data-speed')).toBe('2');
    expect((await audioState(b.page, 0))?.rate).toBe(2);

    // Seek with the keyboard: pause, Home, then two steps of 5 %.
    await note.getByRole('button', { name: 'Pause voice note' }).click();
    const slider = note.getByRole('slider', { name: 'Voice note position' });
    await slider.focus();
    await slider.press('Home');
    await slider.press('ArrowRight');
    await slider.press('ArrowRight');
    const target = durationMs * 0.1;
    expect(Number(await slider.getAttribute('data-position-ms'))).toBeCloseTo(target, -1);
    await expect
      .poll(async () => ((await audioState(b.page, 0))?.currentTime ?? 0) * 1000, {
        timeout: 10_000,
      })
      .toBeGreaterThan(target - 150);
    expect(((await audioState(b.page, 0))?.currentTime ?? 0) * 1000).toBeLessThan(target + 150);
    // The bubble's actions show on hover and focus: move both away for the picture.
    await b.page.mouse.move(900, 600);
    await b.page.locator('chat-composer textarea').focus();
    await shot(b.page, 'voice-note');

    // Alice: Bob's `played` receipt turns her tick.
    await expect
      .poll(
        () =>
          a.page
            .locator('conversation-view message-bubble .bubble', {
              has: a.page.locator('voice-note'),
            })
            .first()
            .getAttribute('data-status'),
        { timeout: 30_000 },
      )
      .toBe('played');

    // Hold to record: press, keep holding, release on the button: sent at once.
    const box = (await mic(a.page).boundingBox())!;
    await a.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await a.page.mouse.down();
    await recordedAtLeast(a.page, 1200);
    await a.page.mouse.up();
    await expect.poll(() => notes(b.page).count(), { timeout: 30_000 }).toBe(2);

    // Cancel: nothing is sent (a later text is the marker that everything before it arrived).
    await mic(a.page).click();
    await recordedAtLeast(a.page, 600);
    await a.page.getByRole('button', { name: 'Cancel the voice note' }).click();
    expect(await recording(a.page).count()).toBe(0);
    await send(a.page, 'after the cancel');
    await bubble(b.page, 'after the cancel').waitFor({ timeout: 30_000 });
    expect(await notes(b.page).count()).toBe(2);
    expect(await notes(a.page).count()).toBe(2);

    await expectCspClean(a.csp, a.page, 'alice');
    await expectCspClean(b.csp, b.page, 'bob');
    await a.context.close();
    await b.context.close();
  });
});
