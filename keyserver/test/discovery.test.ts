import { decodeDiscovery } from '@sotto/crypto/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { makeServer, type TestServer } from './fixtures.ts';

let s: TestServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

describe('broker discovery', () => {
  it('answers /.well-known/sotto and /v1/config without a token, derived from the public URL', async () => {
    s = await makeServer({ config: { publicUrl: 'https://chat.example.org' } });
    for (const url of ['/.well-known/sotto', '/v1/config']) {
      const r = await s.app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(200);
      expect(r.json()).toEqual({
        mqtt: { ws: 'wss://chat.example.org/mqtt', tcp: null },
        guests: { idleMs: 24 * 3600 * 1000 },
      });
      expect(decodeDiscovery(r.body)).toEqual(r.json());
    }
  });

  it('advertises the configured WebSocket and TCP URLs', async () => {
    s = await makeServer({
      config: {
        publicUrl: 'http://localhost:8080',
        mqttWsUrl: 'ws://mqtt.example.org:8083/mqtt',
        mqttTcpUrl: 'mqtt://mqtt.example.org:11883',
      },
    });
    const r = await s.app.inject({ method: 'GET', url: '/.well-known/sotto' });
    expect(r.json()).toEqual({
      mqtt: { ws: 'ws://mqtt.example.org:8083/mqtt', tcp: 'mqtt://mqtt.example.org:11883' },
      guests: { idleMs: 24 * 3600 * 1000 },
    });
  });

  it('says how long guests may stay idle, and nothing about guests when none are offered', async () => {
    s = await makeServer({ config: { guestIdleMs: 2 * 3600 * 1000 } });
    const r = await s.app.inject({ method: 'GET', url: '/v1/config' });
    expect(decodeDiscovery(r.body).guests).toEqual({ idleMs: 2 * 3600 * 1000 });
    await s.close();
    s = await makeServer({ config: { guests: false } });
    const none = await s.app.inject({ method: 'GET', url: '/v1/config' });
    expect(none.json()).not.toHaveProperty('guests');
    expect(() =>
      decodeDiscovery('{"mqtt":{"ws":"ws://x/mqtt","tcp":null},"guests":{"idleMs":0}}'),
    ).toThrow(/guests.idleMs/);
  });

  it('reads the URLs from MQTT_WS_URL / MQTT_TCP_URL and refuses ones of the wrong scheme', () => {
    const c = loadConfig([], {
      MQTT_WS_URL: 'wss://x.org/mqtt',
      MQTT_TCP_URL: 'mqtts://x.org:8883',
    });
    expect([c.mqttWsUrl, c.mqttTcpUrl]).toEqual(['wss://x.org/mqtt', 'mqtts://x.org:8883']);
    expect(loadConfig([], {}).mqttTcpUrl).toBeNull();
    expect(() => loadConfig(['--mqtt-tcp-url', 'http://x.org'], {})).toThrow(/mqttTcpUrl/);
    expect(() => loadConfig(['--mqtt-ws-url', 'mqtt://x.org'], {})).toThrow(/mqttWsUrl/);
  });
});
