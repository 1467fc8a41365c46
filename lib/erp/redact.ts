/**
 * Removes secrets from what an ERP sends back before it reaches an error, a log or a dead letter. ERPs
 * echo requests in their error bodies (a rejected token, a form with the client secret), so both the
 * values of secret-looking keys and every literal occurrence of the connection's own secrets are replaced.
 */
export const REDACTED = '[REDACTED]';

/** Keys whose values are credentials, whatever the vendor spells around them (access_token, X-Api-Key...). */
export const SECRET_KEY = /pass(word|wd)|secret|token|authori[sz]ation|api[-_]?key|cookie|credential|signature/i;
/** Credentials in header syntax inside free text, e.g. an echoed "Authorization: Bearer eyJ...". */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
/** Bounds what an error carries from an ERP that answers with a whole HTML page. */
export const MAX_TEXT_LENGTH = 4000;
const MAX_DEPTH = 20;

export function redactText(text: string, secrets: readonly string[]): string {
  return scrub(text, byLengthDescending(secrets));
}

/** A redacted deep copy of a parsed body (or the body text), with long strings cut short. */
export function redactValue(value: unknown, secrets: readonly string[]): unknown {
  return redactAt(value, byLengthDescending(secrets), 0);
}

function redactAt(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') return truncate(scrub(value, secrets));
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactAt(item, secrets, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] =
      SECRET_KEY.test(key) && item !== null && item !== undefined ? REDACTED : redactAt(item, secrets, depth + 1);
  }
  return copy;
}

function scrub(text: string, sortedSecrets: readonly string[]): string {
  let result = text;
  for (const secret of sortedSecrets) result = result.split(secret).join(REDACTED);
  return result.replace(AUTH_SCHEME, `$1 ${REDACTED}`);
}

function truncate(text: string): string {
  return text.length > MAX_TEXT_LENGTH ? `${text.slice(0, MAX_TEXT_LENGTH)}... (truncated)` : text;
}

/** Longest first, so a secret that contains another is replaced whole. Empty strings would match everywhere. */
function byLengthDescending(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((secret) => secret.length > 0))].sort((a, b) => b.length - a.length);
}
