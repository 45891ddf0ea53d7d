/** Web addresses in message text (services/links.ts): what becomes a link, and what is confirmed. */
import { describe, expect, it } from 'vitest';
import { hrefOf, linkify, lookalikeReason } from '../src/services/links.ts';

describe('links in message text', () => {
  it('links http(s) and www addresses, leaving sentence punctuation outside', () => {
    expect(linkify('See https://example.com/a?b=1, then www.example.org.')).toEqual([
      { text: 'See ' },
      { text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { text: ', then ' },
      { text: 'www.example.org', href: 'https://www.example.org/' },
      { text: '.' },
    ]);
    expect(linkify('(https://en.wikipedia.org/wiki/Foo_(bar))')).toEqual([
      { text: '(' },
      {
        text: 'https://en.wikipedia.org/wiki/Foo_(bar)',
        href: 'https://en.wikipedia.org/wiki/Foo_(bar)',
      },
      { text: ')' },
    ]);
    expect(linkify('no address here')).toEqual([{ text: 'no address here' }]);
  });

  it('never links another scheme', () => {
    expect(linkify('javascript:alert(1) data:text/html,x file:///etc/passwd')).toEqual([
      { text: 'javascript:alert(1) data:text/html,x file:///etc/passwd' },
    ]);
    expect(hrefOf('javascript:alert(1)')).toBeNull();
    expect(hrefOf('https://')).toBeNull();
  });

  it('asks before a punycode host or a user name before the host, not otherwise', () => {
    expect(lookalikeReason('https://xn--pypal-4ve.com/login')).toBe('punycode');
    // Unicode in the text becomes punycode in the URL: the same check catches it.
    expect(lookalikeReason(hrefOf('https://раураl.com/')!)).toBe('punycode');
    expect(lookalikeReason('https://bank.example@evil.example/')).toBe('userinfo');
    expect(lookalikeReason('https://example.com/xn--not-a-host')).toBeNull();
    expect(lookalikeReason('https://example.com/')).toBeNull();
  });
});
