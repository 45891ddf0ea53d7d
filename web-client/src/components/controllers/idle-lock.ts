/**
 * The app lock's idle timer: while armed, any input on the page (pointer, key, wheel, touch)
 * counts as activity, and once `seconds` pass without any, `lock` runs once. Armed by the
 * shell after sign-in when the app lock is on, re-armed when Settings change it.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** Input that counts as the user being there. */
const ACTIVITY = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'] as const;

/** How often the idle time is checked (ms); the lock fires within this of the deadline. */
const CHECK_MS = 500;

/** Idle lock of one host element. */
export class IdleLock implements ReactiveController {
  private last = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    host: ReactiveControllerHost,
    private readonly lock: () => void,
  ) {
    host.addController(this);
  }

  private readonly seen = (): void => {
    this.last = Date.now();
  };

  /** Lock after `seconds` without input from now on; `null` disarms. */
  arm(seconds: number | null): void {
    this.disarm();
    if (seconds === null) return;
    this.last = Date.now();
    for (const type of ACTIVITY) window.addEventListener(type, this.seen, { passive: true });
    this.timer = setInterval(() => {
      if (Date.now() - this.last < seconds * 1000) return;
      this.disarm();
      this.lock();
    }, CHECK_MS);
  }

  /** Stop watching. */
  disarm(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const type of ACTIVITY) window.removeEventListener(type, this.seen);
  }

  hostDisconnected(): void {
    this.disarm();
  }
}
