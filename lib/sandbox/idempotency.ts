/**
 * The Idempotency-Key store (IETF draft "The Idempotency-Key HTTP Header Field", Stripe's semantics). A key
 * remembers the fingerprint of its first request (SHA-256 of method, path and the raw body bytes) and, once
 * answered, the whole response, so a retried write gets the first answer instead of a second write.
 */
import { createHash } from 'node:crypto';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

type Entry = { fingerprint: string; response?: StoredResponse };

export type IdempotencyOutcome =
  { kind: 'new' } | { kind: 'replay'; response: StoredResponse } | { kind: 'inProgress' } | { kind: 'reused' };

/** Keys are kept for this many writes; the oldest is forgotten first, which bounds memory under a benchmark. */
export const MAX_IDEMPOTENCY_KEYS = 100_000;

export function requestFingerprint(method: string, path: string, rawBody: Buffer): string {
  return createHash('sha256').update(`${method} ${path}\n`).update(rawBody).digest('hex');
}

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxKeys = MAX_IDEMPOTENCY_KEYS) {}

  /**
   * Claims `key` for a request or tells why not. Runs synchronously between the check and the claim, so two
   * concurrent requests with one key can never both be `new`.
   */
  begin(key: string, fingerprint: string): IdempotencyOutcome {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.entries.set(key, { fingerprint });
      this.forgetOldest();
      return { kind: 'new' };
    }
    if (entry.fingerprint !== fingerprint) return { kind: 'reused' };
    if (entry.response === undefined) return { kind: 'inProgress' };
    return { kind: 'replay', response: entry.response };
  }

  complete(key: string, response: StoredResponse): void {
    const entry = this.entries.get(key);
    if (entry) entry.response = response;
  }

  /** Releases a key whose request failed on the server's side (5xx), so the client's retry is applied. */
  abandon(key: string): void {
    this.entries.delete(key);
  }

  isInProgress(key: string): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.response === undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  private forgetOldest(): void {
    if (this.entries.size <= this.maxKeys) return;
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}
