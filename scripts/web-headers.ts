/**
 * The security headers of the web client, defined once (docs/SECURITY.md "Content Security
 * Policy", docs/OPERATIONS.md "Security headers"). Embedded mode sends them on every page and
 * asset it serves (scripts/embedded.ts); `deploy/nginx-headers.conf`, which nginx includes for
 * the same files in docker-compose, is generated from here (`npx tsx scripts/nginx-headers.ts`)
 * and a test fails when the two drift apart.
 */

/**
 * Trusted Types policies the built web client creates: Lit (lit-html) builds its templates
 * through `lit-html`; `sotto-worker` (web-client/src/services/trusted-script-url.ts) admits the
 * worker script of the MQTT keepalive timer and the service worker `/sw.js`, nothing else.
 * Nothing else writes to an HTML or script sink.
 */
export const TRUSTED_TYPES_POLICIES = ['lit-html', 'sotto-worker'] as const;

/**
 * Features the web client may use from its own origin: the camera scans QR codes (safety
 * numbers, device linking); the microphone is allowed for audio messages (docs/SECURITY.md);
 * `autoplay` lets the new-message chime (an AudioContext) sound without a fresh click,
 * `clipboard-write` lets "Copy" put a linking code on the clipboard and
 * `publickey-credentials-create`/`-get` are WebAuthn (passkeys: register, sign in, step-up).
 * Every other feature Chromium knows is turned off.
 */
const ALLOWED_FEATURES = [
  'camera',
  'microphone',
  'autoplay',
  'clipboard-write',
  'publickey-credentials-create',
  'publickey-credentials-get',
] as const;

/** Features switched off for every origin, the page included. */
const DENIED_FEATURES = [
  'accelerometer',
  'browsing-topics',
  'display-capture',
  'encrypted-media',
  'fullscreen',
  'gamepad',
  'geolocation',
  'gyroscope',
  'hid',
  'identity-credentials-get',
  'idle-detection',
  'local-fonts',
  'magnetometer',
  'midi',
  'otp-credentials',
  'payment',
  'picture-in-picture',
  'screen-wake-lock',
  'serial',
  'storage-access',
  'usb',
  'window-management',
  'xr-spatial-tracking',
] as const;

/** Where the page may connect besides its own origin. */
export interface WebHeaderOptions {
  /**
   * The broker's MQTT-over-WebSocket URL (`ws://…` or `wss://…`), as `GET /.well-known/sotto`
   * advertises it; its origin joins `connect-src`. The web client itself connects to its own
   * origin's `/mqtt`, which `'self'` covers (CSP Level 3 matches `ws:`/`wss:` of the same host).
   */
  brokerWsUrl?: string;
}

/** The WebSocket origin of `url`, refusing anything but `ws:`/`wss:` (it lands in a header). */
function wsOrigin(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new TypeError(`brokerWsUrl is not a URL: ${JSON.stringify(url)}`, { cause: err });
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new TypeError(`brokerWsUrl must be ws:// or wss://, got ${JSON.stringify(url)}`);
  return `${u.protocol}//${u.host}`;
}

/** The Content-Security-Policy of the web client. */
export function contentSecurityPolicy(options: WebHeaderOptions = {}): string {
  const connect = ["'self'"];
  if (options.brokerWsUrl !== undefined) connect.push(wsOrigin(options.brokerWsUrl));
  const directives: [string, ...string[]][] = [
    ['default-src', "'none'"],
    // libsodium compiles its WebAssembly module; no other eval of any kind.
    ['script-src', "'self'", "'wasm-unsafe-eval'"],
    ['worker-src', "'self'"],
    ['connect-src', ...connect],
    // blob: decrypted photos (only bytes whose magic says raster image); data: thumbnails, QR codes.
    ['img-src', "'self'", 'blob:', 'data:'],
    ['media-src', "'self'", 'blob:'],
    // Lit's styles are constructed stylesheets, which style-src does not govern; style
    // properties are set through the CSSOM (components/style-props.ts), which it does not govern.
    ['style-src', "'self'"],
    ['font-src', "'self'"],
    ['manifest-src', "'self'"],
    ['frame-ancestors', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'self'"],
    ['require-trusted-types-for', "'script'"],
    ['trusted-types', ...TRUSTED_TYPES_POLICIES],
  ];
  return directives.map((d) => d.join(' ')).join('; ');
}

/** The Permissions-Policy of the web client. */
export function permissionsPolicy(): string {
  return [
    ...ALLOWED_FEATURES.map((f) => `${f}=(self)`),
    ...DENIED_FEATURES.map((f) => `${f}=()`),
  ].join(', ');
}

/** Every header the web client's pages and assets carry, in a stable order. */
export function webSecurityHeaders(options: WebHeaderOptions = {}): [string, string][] {
  return [
    ['Content-Security-Policy', contentSecurityPolicy(options)],
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['Permissions-Policy', permissionsPolicy()],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
  ];
}

/**
 * The same headers as nginx `add_header` lines (`always`: error pages carry them too), for
 * `deploy/nginx-headers.conf`. nginx serves the web client and proxies `/mqtt` on one origin,
 * so the policy there is `'self'` only.
 */
export function nginxHeaderSnippet(): string {
  const lines = webSecurityHeaders().map(([name, value]) => {
    if (value.includes('"')) throw new RangeError(`header ${name} cannot hold a double quote`);
    return `add_header ${name} "${value}" always;`;
  });
  return [
    '# Generated by scripts/nginx-headers.ts from scripts/web-headers.ts; do not edit.',
    '# Included by every nginx location that serves the web client (deploy/nginx.conf).',
    ...lines,
    '',
  ].join('\n');
}
