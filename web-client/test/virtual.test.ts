import { describe, expect, it } from 'vitest';
import { HeightIndex } from '../src/services/virtual.ts';

describe('HeightIndex', () => {
  it('places unmeasured rows at the estimated height', () => {
    const h = new HeightIndex(50, 10);
    expect(h.offset(3)).toBe(150);
    expect(h.total()).toBe(500);
  });

  it('shifts every later row when a row is measured', () => {
    const h = new HeightIndex(50, 10);
    expect(h.set(2, 80)).toBe(30);
    expect(h.offset(2)).toBe(100);
    expect(h.offset(3)).toBe(180);
    expect(h.total()).toBe(530);
    expect(h.set(2, 80)).toBe(0);
  });

  it('finds the row under a scroll position by binary search', () => {
    const h = new HeightIndex(50, 100);
    h.set(0, 120);
    expect(h.indexAt(0)).toBe(0);
    expect(h.indexAt(119)).toBe(0);
    expect(h.indexAt(120)).toBe(1);
    expect(h.indexAt(1e9)).toBe(99);
  });

  it('renders only the rows in the viewport plus overscan for 100k rows', () => {
    const h = new HeightIndex(56, 100_000);
    const [a, b] = h.visible(56 * 50_000, 800, 400);
    expect(a).toBeGreaterThan(49_990);
    expect(b - a).toBeLessThan(40);
  });

  it('keeps measurements when growing and gives new rows the estimate', () => {
    const h = new HeightIndex(50, 2);
    h.set(0, 10);
    h.resize(40);
    expect(h.offset(1)).toBe(10);
    expect(h.height(39)).toBe(50);
    h.reset(3);
    expect(h.total()).toBe(150);
  });
});
