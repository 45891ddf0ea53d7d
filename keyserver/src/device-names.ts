/**
 * Default device names (issue 19): "Chrome on Linux" from a browser's User-Agent, "sotto CLI"
 * for the command line. Only a default — the user renames devices on the devices page — so a
 * rough reading of the User-Agent is enough, and nothing else depends on it.
 */
import type { DevicePlatform } from '@sotto/server-core/store';

/** Longest device name (characters), for the schemas and the defaults alike. */
export const DEVICE_NAME_MAX = 64;

// Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
const BROWSERS: readonly [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\bOPR\//, 'Opera'],
  [/\bFirefox\//, 'Firefox'],
  [/(HeadlessChrome|\bChrome|\bChromium|\bCriOS)\//, 'Chrome'],
  [/\bSafari\//, 'Safari'],
];
const SYSTEMS: readonly [RegExp, string][] = [
  [/\bAndroid\b/, 'Android'],
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bWindows\b/, 'Windows'],
  [/\b(Macintosh|Mac OS X)\b/, 'macOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bLinux\b/, 'Linux'],
];

const first = (ua: string, table: readonly [RegExp, string][]): string | null =>
  table.find(([re]) => re.test(ua))?.[1] ?? null;

/** The platform a login came from: what it says, else a browser when the User-Agent is one. */
export function loginPlatform(
  given: DevicePlatform | undefined,
  userAgent: string,
): DevicePlatform {
  return given ?? (/^Mozilla\//.test(userAgent) ? 'web' : 'cli');
}

/** A default name for a device: browser and system for the web, "sotto CLI" otherwise. */
export function defaultDeviceName(platform: DevicePlatform, userAgent: string): string {
  if (platform === 'cli') return 'sotto CLI';
  const browser = first(userAgent, BROWSERS) ?? 'Browser';
  const system = first(userAgent, SYSTEMS);
  return (system ? `${browser} on ${system}` : browser).slice(0, DEVICE_NAME_MAX);
}
