/** MQTT client ids (src/wire/client-ids.ts): the three forms, built and parsed back. */
import { describe, expect, it } from 'vitest';
import {
  deviceClientId,
  parseClientId,
  serviceClientId,
  thingClientId,
} from '../../src/wire/client-ids.ts';
import { isWireError } from '../../src/wire/errors.ts';

describe('client id builders', () => {
  it('build the three forms of the wire contract', () => {
    expect(deviceClientId('alice', 'laptop')).toBe('alice:laptop');
    expect(thingClientId('alice', 'lamp')).toBe('thing:alice:lamp');
    expect(serviceClientId('1')).toBe('service:keyserver:1');
  });

  it('refuse parts that could pass for another form or widen a topic', () => {
    expect(() => deviceClientId('alice', 'a:b')).toThrow(RangeError);
    expect(() => deviceClientId('a+b', 'phone')).toThrow(RangeError);
    expect(() => thingClientId('alice', 'a+b')).toThrow(RangeError);
    expect(() => thingClientId('alice', 'Lamp')).toThrow(RangeError);
    expect(() => serviceClientId('a/b')).toThrow(RangeError);
  });
});

describe('parseClientId', () => {
  it('parses every id the builders make back into its parts', () => {
    expect(parseClientId(deviceClientId('alice', 'phone'))).toEqual({
      kind: 'device',
      clientId: 'alice:phone',
      username: 'alice',
      deviceId: 'phone',
    });
    expect(parseClientId(thingClientId('alice', 'lamp'))).toEqual({
      kind: 'thing',
      clientId: 'thing:alice:lamp',
      owner: 'alice',
      thing: 'lamp',
    });
    expect(parseClientId(serviceClientId('1'))).toEqual({
      kind: 'service',
      clientId: 'service:keyserver:1',
      service: 'keyserver',
      instance: '1',
    });
  });

  it('throws WireError BAD_CLIENT_ID for anything else, reserved prefixes included', () => {
    for (const bad of [
      '',
      'alice',
      'a+b:phone',
      '#:x',
      'al/ce:phone',
      'alice:ph/one',
      'alice:ph#',
      'thing:al:x',
      'thing:alice:La',
      'thing:lamp',
      'service:1',
      'service:other:1',
      'thing:x',
      'alice:phone:x',
      'ALICE:phone',
      'ab:phone',
      'aedes_0b8e3e4c',
      `alice:${'x'.repeat(200)}`,
    ]) {
      let caught: unknown;
      try {
        parseClientId(bad);
      } catch (err) {
        caught = err;
      }
      expect(isWireError(caught, 'BAD_CLIENT_ID'), bad).toBe(true);
    }
  });
});
