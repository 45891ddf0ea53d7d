import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_NAMES, loadConfig, resolveAppConfig } from '../src/config.ts';

describe('configuration', () => {
  it('has working defaults: port 8080, ./data, SQLite, 15-minute tokens, 100 MiB blobs', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({
      port: 8080,
      dataDir: './data',
      redisUrl: null,
      accessTokenTtl: 900,
      blobMaxBytes: 100 * 1024 * 1024,
      argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
    });
  });

  it('reads environment variables and lets flags override them', () => {
    const c = loadConfig(['--port', '9000', '--rate-limit', 'off'], {
      PORT: '7000',
      DATA_DIR: '/tmp/x',
      REDIS_URL: 'redis://127.0.0.1:6379',
      RATE_LIMIT_LOGIN: '5',
    });
    expect(c.port).toBe(9000);
    expect(c.dataDir).toBe('/tmp/x');
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.rateLimit).toMatchObject({ enabled: false, login: 5 });
  });

  it('refuses unknown flags and invalid values with a ConfigError naming the problem', () => {
    expect(() => loadConfig(['--prot', '1'], {})).toThrow(ConfigError);
    expect(() => loadConfig([], { PORT: 'eighty' })).toThrow(/port/);
    expect(() => loadConfig([], { REDIS_URL: 'http://nope' })).toThrow(/redisUrl/);
    expect(() => loadConfig([], { ARGON2_MEMORY_KIB: '1' })).toThrow(/memoryCost/);
    expect(() => loadConfig([], { PUBLIC_URL: 'not a url' })).toThrow(ConfigError);
  });

  it('documents every environment variable name it reads', () => {
    expect(ENV_NAMES).toEqual(
      expect.arrayContaining([
        'PORT',
        'HOST',
        'DATA_DIR',
        'REDIS_URL',
        'PUBLIC_URL',
        'JWT_KEY_FILE',
      ]),
    );
  });

  it('configures the one-time prekey claim cap and low-water notice, validated', () => {
    expect(loadConfig([], {}).prekeyClaims).toEqual({
      perClaimant: 5,
      windowMs: 24 * 3600 * 1000,
      lowWater: 5,
      noticeIntervalMs: 300_000,
    });
    const c = loadConfig(['--prekey-claims-per-claimant', '3', '--prekey-low-water', '0'], {
      PREKEY_CLAIMS_PER_CLAIMANT: '9',
      PREKEY_CLAIM_WINDOW_MS: '3600000',
      PREKEY_LOW_NOTICE_MS: '60000',
    });
    expect(c.prekeyClaims).toEqual({
      perClaimant: 3,
      windowMs: 3_600_000,
      lowWater: 0,
      noticeIntervalMs: 60_000,
    });
    expect(() => loadConfig([], { PREKEY_CLAIMS_PER_CLAIMANT: '0' })).toThrow(/perClaimant/);
    expect(() => loadConfig([], { PREKEY_CLAIMS_PER_CLAIMANT: 'many' })).toThrow(/perClaimant/);
    expect(() => loadConfig([], { PREKEY_CLAIM_WINDOW_MS: '10' })).toThrow(/windowMs/);
    expect(() => loadConfig([], { PREKEY_LOW_WATER: '-1' })).toThrow(/lowWater/);
    expect(resolveAppConfig({ prekeyClaims: { perClaimant: 2 } }).prekeyClaims).toMatchObject({
      perClaimant: 2,
      lowWater: 5,
    });
  });

  it('reads trusted proxies, metrics options and the insecure-permissions switch, validated', () => {
    const d = loadConfig([], {});
    expect(d).toMatchObject({
      trustedProxies: [],
      metricsPort: 0,
      metricsToken: null,
      insecurePermissions: false,
    });
    expect(d.rateLimit).toMatchObject({ lookup: 1000, loginFreeFailures: 5 });
    const c = loadConfig(['--insecure-permissions', '--metrics-port', '9100'], {
      TRUSTED_PROXIES: '10.0.0.5, 172.30.0.0/24 ::1 loopback',
      METRICS_TOKEN: 'a-long-enough-token',
    });
    expect(c.trustedProxies).toEqual(['10.0.0.5', '172.30.0.0/24', '::1', 'loopback']);
    expect(c).toMatchObject({ insecurePermissions: true, metricsPort: 9100 });
    expect(loadConfig([], { INSECURE_PERMISSIONS: '1' }).insecurePermissions).toBe(true);
    expect(loadConfig([], { INSECURE_PERMISSIONS: 'off' }).insecurePermissions).toBe(false);
    expect(() => loadConfig([], { TRUSTED_PROXIES: 'nginx' })).toThrow(/trustedProxies/);
    expect(() => loadConfig([], { TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/prefix/);
    expect(() => loadConfig([], { METRICS_TOKEN: 'short' })).toThrow(/metricsToken/);
    expect(() => loadConfig([], { LOGIN_FREE_FAILURES: '0' })).toThrow(/loginFreeFailures/);
  });

  it('merges partial app config over the defaults', () => {
    const c = resolveAppConfig({ rateLimit: { login: 1 }, argon2: { timeCost: 3 } });
    expect(c.rateLimit).toMatchObject({ enabled: true, login: 1, signup: 10 });
    expect(c.argon2).toEqual({ memoryCost: 19456, timeCost: 3, parallelism: 1 });
  });
});
