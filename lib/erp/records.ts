/** Narrowing for parsed JSON from the wire, which is `unknown` until looked at. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
