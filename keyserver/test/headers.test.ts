import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, makeServer, signupAndLogin, type TestServer } from './fixtures.ts';

let s: TestServer;
let token: string;
beforeEach(async () => {
  s = await makeServer();
  token = (await signupAndLogin(s.app, 'alice')).accessToken;
});
afterEach(async () => {
  await s.close();
});

describe('API answers are neither sniffed nor cached', () => {
  it('sends nosniff and no-store on a successful, a refused and an unknown route', async () => {
    const answers = [
      await s.app.inject({ method: 'GET', url: '/v1/users/alice', headers: bearer(token) }),
      await s.app.inject({ method: 'GET', url: '/v1/users/alice' }),
      await s.app.inject({ method: 'GET', url: '/v1/no-such-route' }),
    ];
    expect(answers.map((r) => r.statusCode)).toEqual([200, 401, 404]);
    for (const r of answers) {
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['cache-control']).toBe('no-store');
    }
  });

  it('keeps the public discovery document cacheable, still unsniffed', async () => {
    const r = await s.app.inject({ method: 'GET', url: '/.well-known/sotto' });
    expect(r.headers['cache-control']).toBe('public, max-age=300');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });
});
