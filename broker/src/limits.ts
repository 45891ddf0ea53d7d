/**
 * Resource limits applied before and around Aedes:
 *
 * - {@link guardPacketSize}: reads the MQTT fixed header (packet type and the
 *   remaining-length varint, spec §2.2.3) of every packet on the raw byte
 *   stream and destroys the connection as soon as a header announces more
 *   than the limit. Aedes (mqtt-packet) would otherwise buffer the whole
 *   announced packet: a CONNECT claiming 250 MB is refused after five bytes.
 * - {@link TokenBucket}: per-client publish rate.
 * - {@link PublishLine}: a client's publishes take effect in the order they
 *   arrived, through the bucket.
 * - {@link ConnectionCounter}: per-IP connection cap.
 */
import type { Duplex } from 'node:stream';

/** Byte limits for the fixed-header guard. */
export interface PacketSizeLimits {
  /** Largest remaining length of a CONNECT (first packet). */
  maxConnectBytes: number;
  /** Largest remaining length of any later packet. */
  maxPacketBytes: number;
}

/** Why the guard closed a connection. */
export type PacketGuardFailure =
  'CONNECT_TOO_LARGE' | 'PACKET_TOO_LARGE' | 'FIRST_PACKET_NOT_CONNECT' | 'BAD_LENGTH';

/**
 * Incremental fixed-header scanner. Feed it every chunk in order; it returns
 * `null` while the stream is within limits, or the reason to close it.
 */
export class PacketSizeGuard {
  // state: 0 = expecting a packet's first byte, 1 = in the length varint, 2 = skipping the body
  #state = 0;
  #first = true;
  #type = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(private readonly limits: PacketSizeLimits) {}

  /** Scan `chunk`; returns a failure as soon as one is certain. */
  feed(chunk: Uint8Array): PacketGuardFailure | null {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.#state === 2) {
        const skip = Math.min(this.#remaining, n - i);
        this.#remaining -= skip;
        i += skip;
        if (this.#remaining === 0) this.#state = 0;
        continue;
      }
      const b = chunk[i++] as number;
      if (this.#state === 0) {
        this.#type = b >> 4;
        if (this.#first && this.#type !== 1) return 'FIRST_PACKET_NOT_CONNECT';
        this.#state = 1;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      // state 1: remaining length, 7 bits per byte, at most 4 bytes.
      this.#length += (b & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      const max = this.#first ? this.limits.maxConnectBytes : this.limits.maxPacketBytes;
      if (this.#length > max) return this.#first ? 'CONNECT_TOO_LARGE' : 'PACKET_TOO_LARGE';
      if (b & 0x80) {
        if (this.#lengthBytes >= 4) return 'BAD_LENGTH';
        continue;
      }
      this.#first = false;
      this.#remaining = this.#length;
      this.#state = this.#remaining > 0 ? 2 : 0;
    }
    return null;
  }
}

/** A connection's guard and whom it tells; kept on the connection (see {@link guardPacketSize}). */
class ReadGuard extends PacketSizeGuard {
  constructor(
    limits: PacketSizeLimits,
    readonly onViolation: (reason: PacketGuardFailure) => void,
  ) {
    super(limits);
  }
}

const GUARD = Symbol('sotto.packetGuard');

type GuardedStream = Duplex & { [GUARD]: ReadGuard };

/**
 * The `read` of every guarded connection: one function for all of them, the guard kept on the
 * stream, so a connection costs one guard object instead of a closure, a bound function and
 * their contexts (issue 20: memory per idle connection).
 */
function guardedRead(this: GuardedStream, size?: number): unknown {
  // The class's own `read` (net.Socket's or Readable's), below the instance property set here;
  // called with this stream as `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const read = (Object.getPrototypeOf(this) as Duplex).read;
  const data: unknown = read.call(this, size);
  if (data instanceof Uint8Array) {
    const guard = this[GUARD];
    const failure = guard.feed(data);
    if (failure) {
      guard.onViolation(failure);
      this.destroy(new Error(`packet guard: ${failure}`));
      return null;
    }
  }
  return data;
}

/**
 * Put a {@link PacketSizeGuard} in front of Aedes on `conn`. Aedes pulls bytes
 * with `conn.read()` on `readable` (lib/client.js); replacing `read` inspects
 * every byte it receives without an extra stream in the data path (which would
 * cost throughput on every message). While Aedes is not reading, Node's
 * stream buffer stays bounded by its high-water mark, so nothing large is
 * buffered before the guard sees the header.
 */
export function guardPacketSize(
  conn: Duplex,
  limits: PacketSizeLimits,
  onViolation: (reason: PacketGuardFailure) => void,
): void {
  const guarded = conn as GuardedStream;
  guarded[GUARD] = new ReadGuard(limits, onViolation);
  guarded.read = guardedRead;
}

/**
 * Token bucket: `ratePerSec` tokens a second, up to `burst`. `take()` returns
 * how long (ms) the caller must wait for its token; the balance may go
 * negative, so callers queue fairly behind each other.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#tokens = burst;
    this.#last = now();
  }

  /** Take one token; returns the wait in ms before it is really available (0 = now). */
  take(): number {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.ratePerSec);
    this.#last = t;
    this.#tokens -= 1;
    if (this.#tokens >= 0) return 0;
    return Math.ceil((-this.#tokens / this.ratePerSec) * 1000);
  }
}

/** A verdict for a {@link PublishLine} ticket. */
export type PublishVerdict =
  { rated: false; run: () => void } | { rated: true; run: () => void; tooFast: () => void };

/** A place in a {@link PublishLine}, handed out as the PUBLISH arrives. */
export interface PublishTicket {
  /** `undefined` until the verdict is known. */
  verdict?: PublishVerdict;
  /** When a rated publish may go (ms, the line's clock), once it has taken its token. */
  notBefore?: number;
}

/**
 * One client's publishes, released in the order they arrived (MQTT 3.1.1 §4.6:
 * a client's messages on a topic reach subscribers in the order it sent them).
 *
 * Aedes handles the PUBLISH packets of one read concurrently and reads on before all of
 * them are done, while our verdicts finish at different times: a group topic waits for a
 * member check, and the rate limit delays a publish by a timer. Left alone, a publish that
 * arrived later but needed no wait overtook an earlier one still waiting (seen: the copies
 * of a re-sent burst reached a subscriber as …, 493, 495, 494, …). Here every PUBLISH takes a
 * ticket on arrival ({@link enter}); its verdict ({@link settle}) runs only after those of
 * every earlier ticket, and a rated one takes its token from the bucket only when it is
 * first in line, then waits its turn on a single timer. A publish that would wait longer
 * than `maxDelayMs` gets `tooFast` instead.
 */
export class PublishLine {
  readonly #line: PublishTicket[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #draining = false;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly maxDelayMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Take the next place in line; call as the PUBLISH arrives, before any check. */
  enter(): PublishTicket {
    const ticket: PublishTicket = {};
    this.#line.push(ticket);
    return ticket;
  }

  /**
   * The verdict for `ticket`: `run` in turn (after the rate limit when `rated`), or `tooFast`
   * when the bucket would hold it longer than `maxDelayMs`. A refusal is `rated: false` with
   * the refusal as `run`, so it keeps its place too.
   */
  settle(ticket: PublishTicket, verdict: PublishVerdict): void {
    ticket.verdict = verdict;
    this.#drain();
  }

  /** Publishes in line (waiting for a verdict or for their turn). */
  get length(): number {
    return this.#line.length;
  }

  #drain(): void {
    if (this.#draining || this.#timer !== null) return;
    this.#draining = true;
    try {
      for (;;) {
        const head = this.#line[0];
        if (head?.verdict === undefined) return;
        const v = head.verdict;
        if (v.rated) {
          if (head.notBefore === undefined) {
            const wait = this.bucket.take();
            if (wait > this.maxDelayMs) {
              this.#line.shift();
              v.tooFast();
              continue;
            }
            head.notBefore = this.now() + wait;
          }
          const left = head.notBefore - this.now();
          if (left > 0) {
            this.#timer = setTimeout(() => {
              this.#timer = null;
              this.#drain();
            }, left);
            this.#timer.unref?.();
            return;
          }
        }
        this.#line.shift();
        v.run();
      }
    } finally {
      this.#draining = false;
    }
  }
}

/** Counts open connections per remote address and refuses beyond a cap (0 = no cap). */
export class ConnectionCounter {
  readonly #counts = new Map<string, number>();

  constructor(private readonly maxPerIp: number) {}

  /** Try to admit a connection from `ip`; returns false when the cap is reached. */
  acquire(ip: string): boolean {
    const n = this.#counts.get(ip) ?? 0;
    if (this.maxPerIp > 0 && n >= this.maxPerIp) return false;
    this.#counts.set(ip, n + 1);
    return true;
  }

  /** A connection from `ip` closed. */
  release(ip: string): void {
    const n = (this.#counts.get(ip) ?? 1) - 1;
    if (n <= 0) this.#counts.delete(ip);
    else this.#counts.set(ip, n);
  }
}
