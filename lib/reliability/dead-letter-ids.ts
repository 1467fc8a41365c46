/**
 * Dead-letter ids: `<13-digit ms time>-<8 hex>`, e.g. `1700000000000-3f9a0c1e`. They sort by time as text, so
 * the store lists letters oldest first without an index; the random part keeps the old and the new node of a
 * redeploy, which may overlap for a moment, from choosing the same id in the same millisecond.
 */
import { randomBytes } from 'node:crypto';

const LETTER_ID_PATTERN = /^\d{13}-[0-9a-f]{8}$/;

export function isLetterId(value: unknown): value is string {
  return typeof value === 'string' && LETTER_ID_PATTERN.test(value);
}

/** The time part of an id: every id created at or after `ms` sorts after this text. */
export function timeKey(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(13, '0');
}

export class LetterIds {
  #lastTime = 0;

  constructor(private readonly now: () => number) {}

  /**
   * A new id. Letters created in the same millisecond get successive times, so the list order is the order
   * in which they arrived (first in, first replayed).
   */
  next(): string {
    this.#lastTime = Math.max(this.now(), this.#lastTime + 1);
    return `${timeKey(this.#lastTime)}-${randomBytes(4).toString('hex')}`;
  }
}
