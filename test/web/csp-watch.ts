/**
 * Content-Security-Policy watch for browser tests: every `securitypolicyviolation` event of every
 * document a context opens (an init script listens before the page's own code runs) and every
 * console line about CSP, Trusted Types or the Permissions-Policy header. `settle()` provokes one
 * violation of its own and waits for it, so the reports of everything done before have arrived
 * when it returns (browsers report violations asynchronously).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { waitFor } from '../support/ports.ts';

/** A violation as the page reported it. */
export interface Violation {
  directive: string;
  blocked: string;
  sample: string;
  source: string;
}

/** Host name of the deliberate violation `settle()` causes (never resolved: CSP stops it). */
const MARKER_HOST = 'csp-settle.invalid';

/** Console lines that mean the policy (or a policy header) refused or could not parse something. */
const CONSOLE_PATTERN = /Content Security Policy|Trusted ?(Types|HTML|Script)|Permissions-Policy/i;

/** What a context's pages reported. */
export interface CspWatch {
  /** Console lines about CSP from every page of the context. */
  console: string[];
  /** Violations reported in `page` so far (its current document). */
  violations(page: Page): Promise<Violation[]>;
  /**
   * Cause a marker violation in `page`, wait until it is reported, and return everything
   * reported before it (the marker and its console line left out).
   */
  settle(page: Page): Promise<{ violations: Violation[]; console: string[] }>;
}

declare global {
  interface Window {
    __cspViolations?: Violation[];
  }
}

/** Start watching `context` (call before its pages load anything). */
export async function watchCsp(context: BrowserContext): Promise<CspWatch> {
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations?.push({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        sample: e.sample,
        source: `${e.sourceFile}:${e.lineNumber}`,
      });
    });
  });
  const consoleLines: string[] = [];
  const listen = (page: Page): void => {
    page.on('console', (m) => {
      if (CONSOLE_PATTERN.test(m.text())) consoleLines.push(m.text());
    });
  };
  context.pages().forEach(listen);
  context.on('page', listen);
  const violations = (page: Page): Promise<Violation[]> =>
    page.evaluate(() => [...(window.__cspViolations ?? [])]);
  return {
    console: consoleLines,
    violations,
    async settle(page) {
      const url = `https://${MARKER_HOST}/`;
      await page.evaluate((u) => {
        fetch(u).catch(() => undefined);
      }, url);
      // Both channels keep their order: once the marker is on each, what came before is too.
      await waitFor(
        async () =>
          consoleLines.some((l) => l.includes(MARKER_HOST)) &&
          (await violations(page)).some((v) => v.blocked === url),
        { timeoutMs: 10_000, what: 'the marker CSP violation to be reported' },
      );
      return {
        violations: (await violations(page)).filter((v) => v.blocked !== url),
        console: consoleLines.filter((l) => !l.includes(MARKER_HOST)),
      };
    },
  };
}

/**
 * A fresh browser profile whose CSP reports are watched from its first document on, with one
 * page opened at `url`; `init` scripts run before the page's own code, after the watch.
 */
export async function newWatchedUser(
  browser: Browser,
  url: string,
  init: (() => void)[] = [],
): Promise<{ context: BrowserContext; page: Page; csp: CspWatch }> {
  const context = await browser.newContext({ baseURL: url });
  const csp = await watchCsp(context);
  for (const script of init) await context.addInitScript(script);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  await page.goto(url);
  return { context, page, csp };
}

/** Nothing refused so far in `page`'s document, nor on any console of its context. */
export async function expectCspClean(csp: CspWatch, page: Page, where: string): Promise<void> {
  const seen = await csp.settle(page);
  expect({ where, ...seen }).toEqual({ where, violations: [], console: [] });
}
