/**
 * How a caller's value (an event envelope or payload, an outcome detail, an ERP reference, a kv value) is
 * kept inside a stored record.
 *
 * LMDB stores values as MessagePack (msgpackr). On decoding, msgpackr renames an own `__proto__` key to
 * `__proto_` so that reading a record can never pollute Object.prototype; safe, but the value no longer
 * round-trips. Such keys only arrive in parsed JSON, so a value that holds one anywhere is kept as JSON
 * text instead: JSON.parse creates `__proto__` as an ordinary own property, which is safe and exact.
 * Every other value keeps MessagePack's richer round trip (Dates, Buffers, undefined).
 */

export type StoredValue = { v: unknown } | { j: string };

export function toStoredValue(value: unknown): StoredValue {
  return holdsProtoKey(value) ? { j: JSON.stringify(value) } : { v: value };
}

export function fromStoredValue(stored: StoredValue): unknown {
  return 'j' in stored ? JSON.parse(stored.j) : stored.v;
}

/** True when a plain object anywhere inside `value` has an own `__proto__` key. */
function holdsProtoKey(value: unknown): boolean {
  const pending: unknown[] = [value];
  const seen = new Set<object>();
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    if (Array.isArray(current)) {
      for (const item of current) pending.push(item);
      continue;
    }
    const prototype = Object.getPrototypeOf(current);
    if (prototype !== Object.prototype && prototype !== null) continue; // Dates, Buffers, Maps: no JSON keys
    if (Object.prototype.hasOwnProperty.call(current, '__proto__')) return true;
    for (const item of Object.values(current)) pending.push(item);
  }
  return false;
}
