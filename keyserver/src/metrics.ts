/**
 * Prometheus metrics (prom-client). Each app gets its own registry so several
 * apps can live in one process (tests, embedded mode beside the broker).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The key server's metrics. */
export interface Metrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status'>;
  latency: Histogram<'method' | 'route'>;
  logins: Counter<'result'>;
  prekeyClaims: Counter<'result'>;
  blobBytes: Counter<'direction'>;
  pushes: Counter<'outcome'>;
}

/** Create a registry with the key server's metrics (and Node process metrics when `defaults`). */
export function createMetrics(opts: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults) collectDefaultMetrics({ register: registry, prefix: 'sotto_keyserver_' });
  return {
    registry,
    requests: new Counter({
      name: 'sotto_keyserver_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'sotto_keyserver_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    logins: new Counter({
      name: 'sotto_keyserver_logins_total',
      help: 'Login attempts by result (ok, bad_credentials)',
      labelNames: ['result'],
      registers: [registry],
    }),
    prekeyClaims: new Counter({
      name: 'sotto_keyserver_prekey_claims_total',
      help: 'Bundle claims by result (one_time, exhausted, not_found)',
      labelNames: ['result'],
      registers: [registry],
    }),
    blobBytes: new Counter({
      name: 'sotto_keyserver_blob_bytes_total',
      help: 'Blob bytes by direction (in, out)',
      labelNames: ['direction'],
      registers: [registry],
    }),
    pushes: new Counter({
      name: 'sotto_keyserver_wake_pushes_total',
      help: 'Wake-up pushes by outcome (sent, no-subscription, inactive, coalesced, gone, refused, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
