/**
 * The `BENCH` line: how a package benchmark hands its headline figures to
 * `npm run bench` (scripts/bench-all.ts), defined once for the writers (each
 * package's `bench/*.bench.ts`) and the reader (bench-all).
 *
 * A line is `BENCH ` followed by JSON `{"name", "value", "unit", "reference"?,
 * "ratio"?}`: `value` is the figure the bench already reports (a median of its
 * runs); `reference` names the baseline measured in the same run with its value
 * and unit ("raw XChaCha20-Poly1305 7.76 µs"); `ratio` is the figure divided by
 * that baseline, unless the bench computes it another way (say, the median of
 * per-round ratios). Everything else a bench prints is its human report.
 */

/** One figure as bench-all collects it. */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  reference?: string;
  ratio?: number;
}

/** A same-run baseline: what {@link benchLine} turns into the `reference` text. */
export interface BenchBaseline {
  name: string;
  value: number;
  unit: string;
}

const PREFIX = 'BENCH ';

/**
 * A number as the tables show it: integers from 100 up, otherwise at most
 * three decimals and four significant digits, never in exponent notation.
 */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(4)));
}

/**
 * The `BENCH` line for a figure. With a `reference` and no `ratio`, the ratio
 * is `value / reference.value`; `ratio: false` leaves it out (a baseline worth
 * naming whose ratio means nothing). Throws a `RangeError` for a value that is
 * not a finite number: a figure that was not measured has no line.
 */
export function benchLine(figure: {
  name: string;
  value: number;
  unit: string;
  reference?: BenchBaseline;
  ratio?: number | false;
}): string {
  const { name, value, unit, reference } = figure;
  if (!Number.isFinite(value)) throw new RangeError(`benchLine: value of "${name}" is ${value}`);
  const out: BenchFigure = { name, value: Number(formatValue(value)), unit };
  if (reference) {
    out.reference = `${reference.name} ${formatValue(reference.value)} ${reference.unit}`.trim();
    const ratio = figure.ratio ?? value / reference.value;
    if (ratio !== false && Number.isFinite(ratio)) out.ratio = Number(ratio.toPrecision(4));
  } else if (typeof figure.ratio === 'number' && Number.isFinite(figure.ratio)) {
    out.ratio = Number(figure.ratio.toPrecision(4));
  }
  return `${PREFIX}${JSON.stringify(out)}`;
}

/**
 * Print the `BENCH` lines of a bench's headline figures on stdout. A figure
 * whose value is not finite (nothing measured, e.g. a scenario that failed) is
 * named in a plain line instead (kept in the report), so the collected table
 * does not show a number that was never measured.
 */
export function printBench(figures: Parameters<typeof benchLine>[0][]): void {
  for (const f of figures) {
    if (Number.isFinite(f.value)) console.log(benchLine(f));
    else console.log(`not measured: ${f.name} (${f.value})`);
  }
}

/** The figure on a `BENCH` line, or `undefined` for any other line (or a malformed one). */
export function parseBenchLine(line: string): BenchFigure | undefined {
  const m = /^BENCH\s+(\{.*\})\s*$/.exec(line.trim());
  if (!m?.[1]) return undefined;
  let f: unknown;
  try {
    f = JSON.parse(m[1]);
  } catch {
    return undefined;
  }
  if (typeof f !== 'object' || f === null) return undefined;
  const { name, value, unit, reference, ratio } = f as Record<string, unknown>;
  if (typeof name !== 'string' || typeof value !== 'number' || !Number.isFinite(value))
    return undefined;
  const out: BenchFigure = { name, value, unit: typeof unit === 'string' ? unit : '' };
  if (typeof reference === 'string' && reference !== '') out.reference = reference;
  if (typeof ratio === 'number' && Number.isFinite(ratio)) out.ratio = ratio;
  return out;
}

/** Most lines of a bench's report kept in the generated block. */
export const REPORT_LINES = 120;
/** Lines kept from the end of a failed bench's output (where its error is). */
export const FAILURE_LINES = 40;

/**
 * Split a finished bench's output into its figures and the text shown under
 * "<package> output". A bench that succeeded shows its stdout report from the
 * top (its tables come first), without npm's `> script` banner or repeated
 * blank lines; its stderr is progress chatter and is left out. A bench that failed shows the last
 * {@link FAILURE_LINES} lines of stdout and stderr, where the error is.
 */
export function collectOutput(
  stdout: string,
  stderr: string,
  ok: boolean,
): { figures: BenchFigure[]; raw: string } {
  const figures: BenchFigure[] = [];
  const keep = (text: string) =>
    text.split('\n').filter((line) => {
      const f = parseBenchLine(line);
      if (f) figures.push(f);
      return !f && !line.includes('npm warn');
    });
  const out = keep(stdout);
  const err = keep(stderr);
  if (!ok) {
    const tail = [...out, ...err].filter((line) => line.trim() !== '');
    return { figures, raw: tail.slice(-FAILURE_LINES).join('\n') };
  }
  // Blank lines stay where they separate paragraphs, once, not at either end.
  const report = out
    .filter((line) => !/^> /.test(line))
    .map((line) => line.trimEnd())
    .filter((line, i, all) => line !== '' || (i > 0 && all[i - 1] !== ''));
  while (report[0] === '') report.shift();
  while (report.at(-1) === '') report.pop();
  const cut = report.length - REPORT_LINES;
  const raw = cut > 0 ? [...report.slice(0, REPORT_LINES), `… (${cut} more lines)`] : report;
  return { figures, raw: raw.join('\n') };
}
