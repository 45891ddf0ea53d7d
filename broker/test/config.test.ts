/**
 * Start-up configuration of the standalone broker: defaults, and a clear
 * error naming the variable for every bad value.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { redisOptions } from '../src/cluster.ts';

describe('loadConfig', () => {
  it('has safe defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      wsPort: 8083,
      mqttPort: 1883,
      redisUrl: null,
      tls: null,
      policyFile: null,
      maxPacketBytes: 262144,
      presence: true,
    });
    expect(c.jwtPublicKeyFile).toBe('data/jwt-public.pem');
  });
  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '0',
      MQTT_PORT: '1884',
      REDIS_URL: 'redis://r:6379',
      BROKER_ID: 'b1',
      PUBLISH_RATE: '10',
      PRESENCE: 'off',
      TLS_CERT_FILE: 'c',
      TLS_KEY_FILE: 'k',
    });
    expect(c).toMatchObject({
      wsPort: 0,
      mqttPort: 1884,
      redisUrl: 'redis://r:6379',
      brokerId: 'b1',
      publishRatePerSec: 10,
      presence: false,
      tls: { certFile: 'c', keyFile: 'k' },
    });
  });
  it('refuses bad values with the variable name', () => {
    expect(() => loadConfig({ MQTT_PORT: 'x' })).toThrow(/MQTT_PORT/);
    expect(() => loadConfig({ MQTT_PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL/);
    expect(() => loadConfig({ TLS_CERT_FILE: 'c' })).toThrow(/TLS_KEY_FILE/);
    expect(() => loadConfig({ PRESENCE: 'maybe' })).toThrow(/PRESENCE/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => loadConfig({ METRICS_PORT: '-1' })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => loadConfig({ BROKER_ID: 'a b' })).toThrow(/BROKER_ID/);
    expect(() => loadConfig({ MAX_PACKET_BYTES: '10' })).toThrow(/MAX_PACKET_BYTES/);
  });
  it('turns a Redis URL into connection options', () => {
    expect(redisOptions('redis://:pw@h:6380/2')).toEqual({
      host: 'h',
      port: 6380,
      password: 'pw',
      db: 2,
    });
    expect(() => redisOptions('http://h')).toThrow(RangeError);
  });
});
