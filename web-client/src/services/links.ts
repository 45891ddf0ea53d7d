/**
 * Web addresses in message text: found here, rendered as links by `<message-bubble>`. Only
 * `http:` and `https:` addresses become links (never `javascript:` or `data:`); nothing is
 * fetched for a preview (docs/WEB.md "Links"). An address that can pass for another site —
 * an internationalised (punycode) host, which can imitate a familiar name letter for letter,
 * or a user name before the host (`https://bank.example@evil.example/`) — is opened only after
 * the user saw its full form.
 */

/** A piece of message text: plain, or an address with the URL it opens. */
export type TextPiece = { text: string } | { text: string; href: string };

/**
 * `http(s)://…` or `www.…` up to whitespace or `<>"`; trailing punctuation that usually ends a
 * sentence (`.,;:!?` and an unbalanced closing bracket or quote) is left out of the address.
 */
const ADDRESS = /\b(?:https?:\/\/|www\.)[^\s<>"]+/giu;
const TRAILING = /[.,;:!?'’”)\]}]+$/u;

/** The URL an address in text opens, or null when it is not an http(s) URL. */
export function hrefOf(address: string): string | null {
  const withScheme = /^www\./iu.test(address) ? `https://${address}` : address;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.href;
  } catch {
    return null;
  }
}

/** Split `text` into plain pieces and addresses. */
export function linkify(text: string): TextPiece[] {
  const out: TextPiece[] = [];
  let last = 0;
  for (const m of text.matchAll(ADDRESS)) {
    let address = m[0];
    const trail = TRAILING.exec(address);
    // Keep a closing bracket that closes one opened inside the address (Wikipedia-style URLs).
    if (trail !== null) {
      let cut = trail[0];
      if (cut.startsWith(')') && (address.match(/\(/g)?.length ?? 0) > 0) cut = cut.slice(1);
      address = address.slice(0, address.length - cut.length);
    }
    const href = hrefOf(address);
    if (href === null) continue;
    const start = m.index;
    if (start > last) out.push({ text: text.slice(last, start) });
    out.push({ text: address, href });
    last = start + address.length;
  }
  if (last < text.length) out.push({ text: text.slice(last) });
  return out;
}

/**
 * Why `href` should be confirmed before it opens: `punycode` (a label of its host is an
 * internationalised name, shown by browsers in letters that can copy another site's), `userinfo`
 * (a user name or password before the host hides where it goes), or null.
 */
export function lookalikeReason(href: string): 'punycode' | 'userinfo' | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (url.username !== '' || url.password !== '') return 'userinfo';
  if (url.hostname.split('.').some((label) => label.startsWith('xn--'))) return 'punycode';
  return null;
}
