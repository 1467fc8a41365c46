/**
 * Time as the ERP client sees it. Injected so tests can move time by hand instead of sleeping; the
 * default reads the monotonic clock, because a wall-clock jump (NTP, daylight saving on a badly configured
 * host) must not stall the rate limiter or expire a token early.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
