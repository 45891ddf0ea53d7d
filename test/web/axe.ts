/**
 * axe-core in a test page: the WCAG 2.x A/AA rules, contrast included, on the page as it is.
 * Shared by the browser tests that check the main views in the light and the dark theme.
 */
import axe from 'axe-core';
import type { Page } from 'playwright-core';

/** The rule tags we hold the app to. `color-contrast` is one of the `wcag2aa` rules. */
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/** What one axe run found, as lines a failed `expect` prints. */
export interface AxeFindings {
  /** Serious or critical violations: `rule: help — target summary | …`. */
  readonly serious: string[];
  /** Elements whose text contrast axe measured and found sufficient. */
  readonly contrastChecked: number;
}

/**
 * Run axe on `p` as it is now; with `within`, only violations on elements inside that element
 * (a tag name on the shadow path) count.
 */
export async function axeFindings(p: Page, within?: string): Promise<AxeFindings> {
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(axe.source);
  const results = await p.evaluate(
    (tags) =>
      (window as unknown as { axe: typeof axe }).axe.run(document, {
        runOnly: { type: 'tag', values: tags },
      }),
    TAGS,
  );
  const inside = (target: unknown[]): boolean =>
    within === undefined || target.flat(2).some((t) => String(t).split(/[ >,]/).includes(within));
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ ...v, nodes: v.nodes.filter((n) => inside(n.target as unknown[])) }))
    .filter((v) => v.nodes.length > 0)
    .map(
      (v) =>
        `${v.id}: ${v.help} — ${v.nodes
          .slice(0, 3)
          .map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`)
          .join(' | ')}`,
    );
  const contrast = results.passes.find((r) => r.id === 'color-contrast');
  return { serious, contrastChecked: contrast?.nodes.length ?? 0 };
}

/**
 * Serious or critical axe-core violations on `p`; also fails (as a finding) when the contrast
 * rule measured no text at all, so a view whose colours axe cannot read does not pass quietly.
 */
export async function seriousViolations(p: Page, within?: string): Promise<string[]> {
  const f = await axeFindings(p, within);
  return f.contrastChecked > 0 ? f.serious : [...f.serious, 'color-contrast: no text measured'];
}
