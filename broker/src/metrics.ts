/**
 * Prometheus metrics of the broker. The registry is injectable so that in
 * embedded mode the broker's series appear on the key server's `/metrics`.
 */
import { Counter, Gauge, Registry } from 'prom-client';

/** The broker's metric handles. */
export interface BrokerMetrics {
  registry: Registry;
  connections: Gauge;
  connectsRefused: Counter<'reason'>;
  messagesIn: Counter;
  messagesOut: Counter;
  refusals: Counter<'rule' | 'action'>;
  disconnects: Counter<'reason'>;
  /** Group subscriptions the broker made for devices of newly added members. */
  groupSubscriptions: Counter;
  /** Bytes written to client sockets but not yet flushed (slow consumers show here). */
  queuedBytes: Gauge;
  /** Errors of the cluster's Redis connections (each is retried with backoff). */
  redisErrors: Counter<'connection'>;
  /** Messages not queued for an offline session because a queue cap was reached (embedded mode). */
  queueDropped: Counter<'reason'>;
  /** Payload bytes queued for persistent sessions (embedded mode; 0 in cluster mode). */
  sessionQueueBytes: Gauge;
}

/**
 * Create the metrics on `registry` (a fresh one when omitted). `collectQueued` and
 * `collectSessionQueues` are read at scrape time.
 */
export function createBrokerMetrics(
  registry: Registry = new Registry(),
  collectQueued: () => number = () => 0,
  collectSessionQueues: () => number = () => 0,
): BrokerMetrics {
  return {
    registry,
    connections: new Gauge({
      name: 'sotto_broker_connections',
      help: 'Authenticated MQTT connections',
      registers: [registry],
    }),
    connectsRefused: new Counter({
      name: 'sotto_broker_connects_refused_total',
      help: 'CONNECTs refused, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    messagesIn: new Counter({
      name: 'sotto_broker_messages_in_total',
      help: 'PUBLISH packets accepted from clients',
      registers: [registry],
    }),
    messagesOut: new Counter({
      name: 'sotto_broker_messages_out_total',
      help: 'PUBLISH packets forwarded to clients',
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'sotto_broker_acl_refusals_total',
      help: 'Publishes and subscriptions refused, by ACL rule',
      labelNames: ['rule', 'action'],
      registers: [registry],
    }),
    disconnects: new Counter({
      name: 'sotto_broker_forced_disconnects_total',
      help: 'Connections closed by the broker, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    groupSubscriptions: new Counter({
      name: 'sotto_broker_member_subscriptions_total',
      help: 'Group topic subscriptions made by the broker for devices of added members',
      registers: [registry],
    }),
    queuedBytes: new Gauge({
      name: 'sotto_broker_queued_bytes',
      help: 'Bytes buffered for delivery to connected clients (queue depth)',
      registers: [registry],
      collect() {
        this.set(collectQueued());
      },
    }),
    redisErrors: new Counter({
      name: 'sotto_broker_redis_errors_total',
      help: 'Errors of the Redis connections of cluster mode (mq-pub, mq-sub, persistence), by connection',
      labelNames: ['connection'],
      registers: [registry],
    }),
    queueDropped: new Counter({
      name: 'sotto_broker_queue_dropped_total',
      help: 'Messages not queued for a persistent session over a queue cap (messages, bytes, total)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    sessionQueueBytes: new Gauge({
      name: 'sotto_broker_session_queue_bytes',
      help: 'Payload bytes queued for persistent sessions (in-memory persistence only)',
      registers: [registry],
      collect() {
        this.set(collectSessionQueues());
      },
    }),
  };
}
