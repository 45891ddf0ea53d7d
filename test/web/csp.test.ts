/**
 * The web client under its Content-Security-Policy (scripts/web-headers.ts), in Chromium against
 * the real embedded server: the security headers are on the page, an asset and the API; a
 * deliberate inline script and inline style are refused and reported (so the watch below cannot
 * pass by seeing nothing); and every view — sign-up and log-in, the link offer of a new device,
 * the conversation list, a DM with messages both ways, contact info with the safety number and
 * its QR code, a group and its settings, settings, search and linking a device — runs without a
 * single violation report or CSP console error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { contentSecurityPolicy, webSecurityHeaders } from '../../scripts/web-headers.ts';
import { expectCspClean, newWatchedUser } from './csp-watch.ts';
import {
  bubble,
  go,
  launchChromium,
  send,
  signUp,
  startDm,
  startServer,
  type TestServer,
} from './harness.ts';

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

const watchedUser = () => newWatchedUser(browser, server.url);

describe('security headers', () => {
  it('are on the page, on an asset and on a client-side route; the API gets nosniff and no-store', async () => {
    const discovery = (await (await fetch(`${server.url}/.well-known/sotto`)).json()) as {
      mqtt: { ws: string };
    };
    const page = await fetch(`${server.url}/`);
    const html = await page.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const expected = webSecurityHeaders({ brokerWsUrl: discovery.mqtt.ws });
    expect(expected[0]?.[1]).toBe(contentSecurityPolicy({ brokerWsUrl: discovery.mqtt.ws }));
    for (const path of ['/', asset as string, '/theme.js', '/settings']) {
      const r = await fetch(`${server.url}${path}`);
      expect(r.status, path).toBe(200);
      for (const [name, value] of expected)
        expect(r.headers.get(name), `${path} ${name}`).toBe(value);
    }
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain(
      `connect-src 'self' ${new URL(discovery.mqtt.ws).origin.replace(/^http/, 'ws')}`,
    );

    const api = await fetch(`${server.url}/v1/users/alice`);
    expect(api.status).toBe(401);
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    expect(api.headers.get('cache-control')).toBe('no-store');
    // The page policy is for the web client only: API answers are data, not documents.
    expect(api.headers.get('content-security-policy')).toBeNull();
  });
});

describe('the web client under its CSP', () => {
  it('reports an inline script and an inline style (the watch sees what the policy refuses)', async () => {
    const { context, page, csp } = await watchedUser();
    try {
      await page.locator('auth-view').waitFor();
      const ran = await page.evaluate(() => {
        const w = window as { inlineRan?: boolean };
        try {
          const s = document.createElement('script');
          s.textContent = 'window.inlineRan = true';
          document.body.append(s);
        } catch {
          // Trusted Types refuse the assignment itself; the report is what is checked.
        }
        document.body.setAttribute('style', 'outline: 3px solid red');
        return w.inlineRan === true;
      });
      expect(ran).toBe(false);
      const seen = await csp.settle(page);
      const directives = seen.violations.map((v) => v.directive);
      expect(directives).toContain('require-trusted-types-for');
      expect(directives).toContain('style-src-attr');
      expect(seen.console.length).toBeGreaterThanOrEqual(2);
    } finally {
      await context.close();
    }
  });

  it('shows every view without a violation', async () => {
    const alice = await watchedUser();
    const bob = await watchedUser();
    const carol = await watchedUser();
    try {
      await signUp(alice.page, 'alice');
      await signUp(bob.page, 'bob');
      await signUp(carol.page, 'carol');
      await expectCspClean(alice.csp, alice.page, 'sign-up and the conversation list');
      // The MQTT keepalive worker started under the policy (a file from 'self', via sotto-worker).
      expect(alice.page.workers().map((w) => new URL(w.url()).pathname)).toContainEqual(
        expect.stringMatching(/^\/assets\/interval-worker-[\w-]+\.js$/),
      );

      // A DM with messages both ways.
      await startDm(alice.page, 'bob');
      await send(alice.page, 'hello bob');
      await go(bob.page, `#/c/${encodeURIComponent('dm:alice')}`);
      await bubble(bob.page, 'hello bob').waitFor({ timeout: 30_000 });
      await send(bob.page, 'hello alice');
      await bubble(alice.page, 'hello alice').waitFor({ timeout: 30_000 });
      await expectCspClean(alice.csp, alice.page, 'a DM');
      await expectCspClean(bob.csp, bob.page, 'a DM (receiving)');

      // Contact info: safety number and its QR code (a data: image).
      await go(alice.page, `#/c/${encodeURIComponent('dm:bob')}/info`);
      await alice.page.locator('contact-info [data-safety]').waitFor({ timeout: 20_000 });
      await alice.page.locator('contact-info img').first().waitFor({ timeout: 20_000 });
      await expectCspClean(alice.csp, alice.page, 'contact info');

      // A group and its settings.
      await go(alice.page, '#/');
      await alice.page.locator('conversation-list button', { hasText: 'New group' }).click();
      await alice.page.locator('conversation-list input[name=name]').fill('Trip');
      await alice.page.locator('conversation-list input[name=members]').fill('bob, carol');
      await alice.page.locator('conversation-list form button[type=submit]').click();
      await alice.page
        .locator('conversation-view h2', { hasText: 'Trip' })
        .waitFor({ timeout: 20_000 });
      await send(alice.page, 'welcome to the trip');
      await bubble(alice.page, 'welcome to the trip').waitFor({ timeout: 20_000 });
      await alice.page.locator('conversation-view a[aria-label="Group settings"]').click();
      await alice.page.locator('group-settings [data-member="bob"]').waitFor({ timeout: 20_000 });
      await expectCspClean(alice.csp, alice.page, 'group settings');

      // Settings, search, linking a device.
      await go(alice.page, '#/settings');
      await alice.page.locator('settings-view').waitFor();
      await alice.page.locator('settings-view a[href="#/link"]').waitFor();
      await expectCspClean(alice.csp, alice.page, 'settings');
      await go(alice.page, '#/search');
      await alice.page.locator('search-view input[type=search]').fill('hello');
      await alice.page.locator('search-view a[data-result]').first().waitFor({ timeout: 20_000 });
      await expectCspClean(alice.csp, alice.page, 'search');
      await go(alice.page, '#/link');
      await alice.page.locator('link-device textarea').waitFor();
      await expectCspClean(alice.csp, alice.page, 'link device');

      // Log-in on a new browser: the keys are elsewhere, so it offers a link code with a QR image.
      const fresh = await watchedUser();
      try {
        await fresh.page.locator('auth-view [role=tab]', { hasText: 'Log in' }).click();
        await fresh.page.locator('auth-view input[name=username]').fill('alice');
        await fresh.page.locator('auth-view input[name=password]').fill('correct horse battery');
        await fresh.page.locator('auth-view button[type=submit]').click();
        await fresh.page.locator('auth-view button[data-link]').click({ timeout: 20_000 });
        await fresh.page.locator('link-offer [data-link-code]').waitFor({ timeout: 20_000 });
        await fresh.page.locator('link-offer img').waitFor();
        await expectCspClean(fresh.csp, fresh.page, 'log-in and the link offer');
      } finally {
        await fresh.context.close();
      }
    } finally {
      for (const u of [alice, bob, carol]) await u.context.close();
    }
  });
});
