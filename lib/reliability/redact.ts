/**
 * Turns a Node-RED message into plain JSON with its secrets removed, for a dead letter (DESIGN principle 8:
 * secrets never reach dead letters).
 *
 * Strings are scrubbed by the ERP client's redaction (lib/erp/redact.ts: header-syntax credentials, a URL's
 * user name and password, secret-looking query parameters in free text). Its deep copy, `redactValue`, is not
 * used for whole messages because it cuts long strings to bound error bodies: a stored message is replayed
 * later and must come back whole.
 */
import { REDACTED, SECRET_KEY, redactCredentialShapes, redactText } from '../erp/redact';

/** Deeper than any document of the canonical model; guards the stack against a hostile nesting. */
const MAX_DEPTH = 100;
const CIRCULAR = '[Circular]';

/**
 * A redacted plain-JSON copy: Dates become ISO strings, bigints decimal strings, Buffers
 * `{type: 'Buffer', data}` (as JSON.stringify writes them); functions, symbols and undefined members are
 * dropped; a reference back to an enclosing object becomes "[Circular]".
 */
export function toRedactedJson(value: unknown): unknown {
  return copy(value, new Set(), 0, scrubAll);
}

/**
 * The same copy for a business document that is stored to be replayed (a dead letter's msg.payload): texts lose
 * only what has the shape of a credential (redactCredentialShapes), so prose such as "Basic meal allowance"
 * reaches the ERP unchanged when the letter is replayed.
 */
export function toRedactedDocumentJson(value: unknown): unknown {
  return copy(value, new Set(), 0, scrubCredentialShapes);
}

const scrubAll = (text: string): string => (mayHoldCredentials(text) ? redactText(text, []) : text);
const scrubCredentialShapes = (text: string): string =>
  mayHoldCredentials(text) ? redactCredentialShapes(text) : text;

function copy(value: unknown, ancestors: Set<object>, depth: number, scrub: (text: string) => string): unknown {
  if (typeof value === 'string') return scrub(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return undefined;
  if (ancestors.has(value)) return CIRCULAR;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toJSON();
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      return value.map((item) => {
        const copied = copy(item, ancestors, depth + 1, scrub);
        return copied === undefined ? null : copied;
      });
    }
    const result: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      const copied =
        SECRET_KEY.test(key) && item !== null && item !== undefined
          ? REDACTED
          : copy(item, ancestors, depth + 1, scrub);
      if (copied === undefined) continue;
      // An own "__proto__" member (parsed JSON may have one) must stay a member: assigning it would set the
      // prototype. defineProperty only for that key: it costs several times an assignment, and the audit trail
      // copies every observation of every message through here.
      if (key === '__proto__')
        Object.defineProperty(result, key, { value: copied, enumerable: true, writable: true, configurable: true });
      else result[key] = copied;
    }
    return result;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * A superset of what redactText replaces when no secrets are given: header-syntax credentials ("Bearer ...",
 * "Basic ...", "Authorization: ...", "token key:secret"), a URL's user name and password, query parameters,
 * JSON Web Tokens and PEM private keys.
 * Most texts (ids, dates, codes) hold none of these, and redactText allocates for every call
 * (test/unit/dead-letters/redact.test.ts and test/unit/reliability/redact-credentials.test.ts check the two agree).
 */
const MAY_HOLD_CREDENTIALS = /Bearer|Basic|authori[sz]ation|token|eyJ|PRIVATE KEY|:\/\/[^\s/?#@]*@|[?&][^\s=&#?]+=/i;

export function mayHoldCredentials(text: string): boolean {
  return MAY_HOLD_CREDENTIALS.test(text);
}
