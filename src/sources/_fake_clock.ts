/**
 * A manual clock for the gathering's tests: timers fire only when the test advances time.
 * @module
 */
import type { Clock } from "./_gather.ts";

export function fakeClock() {
  let now = 0;
  let next = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock & { advance(ms: number): void; pending(): number } = {
    now: () => now,
    setTimeout(fn, ms) {
      timers.set(++next, { at: now + ms, fn });
      return next;
    },
    clearTimeout: (h) => void timers.delete(h as number),
    /** Move time on, firing due timers in time order. */
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = [...timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at);
        if (due.length === 0) break;
        const [id, t] = due[0];
        timers.delete(id);
        now = Math.max(now, t.at);
        t.fn();
      }
      now = until;
    },
    pending: () => timers.size,
  };
  return clock;
}
