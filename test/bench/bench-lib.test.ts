/**
 * The `BENCH` line format (scripts/bench-lib.ts) and how `npm run bench`
 * (scripts/bench-all.ts) reads a package bench's output: figures out, the
 * human report kept from its top, a failure's end kept instead.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  benchLine,
  collectOutput,
  formatValue,
  parseBenchLine,
  REPORT_LINES,
} from '../../scripts/bench-lib.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('BENCH lines', () => {
  it('round-trips a figure with its same-run reference and the ratio to it', () => {
    const line = benchLine({
      name: 'ratchet encrypt + decrypt 1 KiB',
      value: 22.21234,
      unit: 'µs',
      reference: { name: 'raw XChaCha20-Poly1305', value: 7.7612, unit: 'µs' },
    });
    expect(line.startsWith('BENCH {')).toBe(true);
    expect(parseBenchLine(line)).toEqual({
      name: 'ratchet encrypt + decrypt 1 KiB',
      value: 22.21,
      unit: 'µs',
      reference: 'raw XChaCha20-Poly1305 7.761 µs',
      ratio: 2.862,
    });
  });

  it('keeps a ratio the bench computed itself, and leaves it out when asked', () => {
    const ref = { name: 'Fastify hello-world', value: 44509.4, unit: 'req/s' };
    const own = parseBenchLine(benchLine({ name: 'claims', value: 20366, unit: 'req/s', reference: ref, ratio: 0.44 }));
    expect(own).toMatchObject({ reference: 'Fastify hello-world 44509 req/s', ratio: 0.44 });
    const none = parseBenchLine(benchLine({ name: 'x', value: 1, unit: 'ms', reference: ref, ratio: false }));
    expect(none).not.toHaveProperty('ratio');
    expect(none).toHaveProperty('reference');
  }); // prettier-ignore

  it('refuses a figure that was not measured', () => {
    expect(() => benchLine({ name: 'p99', value: Number.NaN, unit: 'ms' })).toThrow(RangeError);
  });

  it('ignores other lines and malformed BENCH lines', () => {
    expect(parseBenchLine('| raw AEAD | 118,800 |')).toBeUndefined();
    expect(parseBenchLine('BENCH {"name": "x", "value": 1')).toBeUndefined();
    expect(parseBenchLine('BENCH {"name": "x", "value": "1"}')).toBeUndefined();
    expect(parseBenchLine('BENCH {"value": 1, "unit": "ms"}')).toBeUndefined();
    expect(parseBenchLine('BENCH [1, 2]')).toBeUndefined();
    expect(parseBenchLine('  BENCH {"name":"x","value":3}  ')).toEqual({ name: 'x', value: 3, unit: '' });
  }); // prettier-ignore

  it('formats values without exponents', () => {
    expect(formatValue(118800.4)).toBe('118800');
    expect(formatValue(2.87123)).toBe('2.871');
    expect(formatValue(0.000123456)).toBe('0.0001235');
    expect(formatValue(99.996)).toBe('100');
  });
});

describe('collectOutput', () => {
  const npmBanner = '\n> @sotto/x@0.1.0 bench\n> tsx bench/x.bench.ts\n\n';
  const figure = 'BENCH {"name":"a","value":1,"unit":"ms"}';

  it('keeps a successful report from its top, however long the text after the table', () => {
    const table = ['| figure | value |', '|---|---|', '| a | 1 |'];
    const prose = Array.from({ length: 60 }, (_, i) => `analysis line ${i}`);
    const stdout = `${npmBanner}${table.join('\n')}\n\n\n${prose.join('\n')}\n${figure}\n`;
    const { figures, raw } = collectOutput(stdout, '[bench] round 1/3\n', true);
    expect(figures).toEqual([{ name: 'a', value: 1, unit: 'ms' }]);
    const lines = raw.split('\n');
    expect(lines.slice(0, 4)).toEqual([...table, '']);
    expect(lines).toContain('analysis line 59');
    expect(raw).not.toContain('> tsx');
    expect(raw).not.toContain('[bench]');
    expect(raw).not.toContain('BENCH');
    expect(raw).not.toMatch(/\n\n\n/);
  });

  it('cuts a very long report at its end and says how much was left out', () => {
    const stdout = Array.from({ length: REPORT_LINES + 30 }, (_, i) => `line ${i}`).join('\n');
    const lines = collectOutput(stdout, '', true).raw.split('\n');
    expect(lines).toHaveLength(REPORT_LINES + 1);
    expect(lines[0]).toBe('line 0');
    expect(lines.at(-1)).toBe('… (30 more lines)');
  });

  it('shows the end of a failed bench, stderr included, and still collects its figures', () => {
    const stdout = `${npmBanner}${figure}\n| partial table |\n`;
    const stderr = `${Array.from({ length: 80 }, (_, i) => `    at frame ${i}`).join('\n')}\nError: mosquitto did not start\n`;
    const { figures, raw } = collectOutput(stdout, stderr, false);
    expect(figures).toHaveLength(1);
    expect(raw.split('\n').at(-1)).toBe('Error: mosquitto did not start');
    expect(raw).not.toContain('partial table');
  });
});

describe('a package bench', () => {
  it('prints its headline figures as BENCH lines (crypto, shortest settings)', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'crypto/bench/crypto.bench.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, BENCH_ROUNDS: '1', BENCH_SLICE_MS: '5' },
    });
    expect(run.status, run.stderr).toBe(0);
    const { figures, raw } = collectOutput(run.stdout, run.stderr, true);
    expect(raw).toContain('| raw XChaCha20-Poly1305 encrypt + decrypt, 1 KiB |');
    const ratchet = figures.find((f) => f.name.startsWith('ratchet encrypt + decrypt 1 KiB, CPU'));
    expect(ratchet?.unit).toBe('µs');
    expect(ratchet?.reference).toMatch(/^raw XChaCha20-Poly1305 .* µs$/);
    expect(ratchet?.ratio).toBeGreaterThan(1);
    const setup = figures.find((f) => f.name.startsWith('session setup'));
    expect(setup?.unit).toBe('ms');
    expect(setup?.reference).toMatch(/^raw X25519/);
  });
});
