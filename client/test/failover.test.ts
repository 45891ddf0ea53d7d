/**
 * Broker list parsing and the reconnect backoff schedule of
 * client/src/internal/failover.ts (the failover itself runs against real
 * processes in failover.e2e.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { backoffDelay, brokerServers } from '../src/internal/failover.ts';

describe('broker failover list', () => {
  it('keeps the order of the URLs and fills in default ports', () => {
    expect(
      brokerServers(['mqtt://b1:1884', 'mqtts://b2', 'ws://b3/mqtt', 'wss://b4:9443/mqtt']),
    ).toEqual([
      { host: 'b1', port: 1884, protocol: 'mqtt' },
      { host: 'b2', port: 8883, protocol: 'mqtts' },
      { host: 'b3', port: 80, protocol: 'ws' },
      { host: 'b4', port: 9443, protocol: 'wss' },
    ]);
  });

  it('refuses an empty list, a non-URL and a protocol mqtt.js cannot dial', () => {
    expect(() => brokerServers([])).toThrow(RangeError);
    expect(() => brokerServers(['b1:1883 x'])).toThrow(/not a URL|unsupported/);
    expect(() => brokerServers(['http://b1:8080'])).toThrow(/unsupported protocol/);
  });

  it('tries every broker once at the base period, then doubles per full round up to the cap', () => {
    const policy = { baseMs: 200, maxMs: 3000 };
    const delays = Array.from({ length: 12 }, (_, i) => backoffDelay(i + 1, 2, policy));
    expect(delays).toEqual([200, 400, 400, 800, 800, 1600, 1600, 3000, 3000, 3000, 3000, 3000]);
  });
});
