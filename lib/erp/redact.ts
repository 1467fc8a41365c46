/**
 * Removes secrets from what an ERP sends back before it reaches an error, a log or a dead letter. ERPs
 * echo requests in their error bodies (a rejected token, a form with the client secret), so both the
 * values of secret-looking keys and every literal occurrence of the connection's own secrets are replaced.
 * Texts seen without a secret list (dead letters, msg.failure, the audit trail) still lose what their syntax
 * gives away: header-syntax credentials, a URL's user name and password, secret-looking query parameters.
 */
export const REDACTED = '[REDACTED]';

/**
 * Keys whose values are credentials, whatever the vendor spells around them (access_token, X-Api-Key...). Short
 * names only whole ("pwd", "auth"): a plain "key" stays, business documents use it for key-value pairs.
 */
export const SECRET_KEY =
  /pass(word|wd|phrase)|secret|token|authori[sz]ation|api[-_]?key|private[-_]?key|cookie|credential|signature|^(pwd|auth)$/i;
/** Credentials in header syntax inside free text, e.g. an echoed "Authorization: Bearer eyJ...". */
const AUTH_SCHEME = /\b(Bearer|Basic)\s+([A-Za-z0-9._~+/=-]+)/g;
/** The same in any letter case ("authorization: bearer eyJ..."), for redactCredentialShapes. */
const ANY_CASE_AUTH_SCHEME = new RegExp(AUTH_SCHEME.source, 'gi');
/**
 * What follows an Authorization header name in header, JSON or form syntax, whatever the scheme and its case
 * ("authorization: bearer ...", "Authorization: token key:secret", "authorization=..."): the scheme is kept.
 */
const AUTHORIZATION = /(\bauthori[sz]ation["']?\s*[:=]\s*["']?)(?:([A-Za-z][\w-]*)\s+)?[^\s"',;&<>()[\]{}]+/gi;
/** ERPNext / Frappe's "token <api_key>:<api_secret>" written anywhere. */
const FRAPPE_TOKEN = /\b(token)\s+[^\s:"',;]+:[^\s"',;)}\]]+/gi;
/** The user name and password of a URL: https://user:password@host, postgres://user:password@host. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;
/** A JSON Web Token: three base64url parts, the first two JSON objects, so both begin with "eyJ" ('{"'). */
const JWT = /\beyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*/g;
/** A PEM private key block, whatever its kind ("RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"...). */
const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;
/** A query or form parameter (?name=value, &name=value); its value goes when its name looks secret. */
const PARAMETER = /([?&])([^\s=&#?"'<>]+)=([^\s&#"'<>]+)/g;
/** Parameter names of credentials besides SECRET_KEY's: Azure SAS "sig", Google "key", "pwd", "auth". */
const SECRET_PARAMETER = /^(sig|key|pwd|auth|access[-_]?key)$/i;
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
    const redacted =
      SECRET_KEY.test(key) && item !== null && item !== undefined ? REDACTED : redactAt(item, secrets, depth + 1);
    // Defined, not assigned: a "__proto__" key of a parsed body would otherwise become the copy's prototype,
    // vanish from the copy and lend its fields to it.
    Object.defineProperty(copy, key, { value: redacted, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function scrub(text: string, sortedSecrets: readonly string[]): string {
  let result = text;
  for (const secret of sortedSecrets) result = result.split(secret).join(REDACTED);
  return result
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(PARAMETER, secretParameter)
    .replace(AUTHORIZATION, (_match, name: string, scheme: string | undefined) =>
      scheme === undefined ? `${name}${REDACTED}` : `${name}${scheme} ${REDACTED}`,
    )
    .replace(FRAPPE_TOKEN, `$1 ${REDACTED}`)
    .replace(AUTH_SCHEME, `$1 ${REDACTED}`)
    .replace(JWT, REDACTED)
    .replace(PEM_PRIVATE_KEY, REDACTED);
}

/**
 * Only what has the shape of a credential, for business text that is stored to be replayed (a dead letter's
 * msg.payload): a URL's user name and password, secret-looking query parameters, "token key:secret", a JSON
 * Web Token, a PEM private key, and "Bearer"/"Basic" only when what follows looks like a token. The wider patterns of redactText also match prose
 * ("Basic meal allowance", "travel authorization: approved by ..."), which a replay would send to the ERP
 * changed; a credential pasted into a document or echoed in an ERP answer still goes.
 */
export function redactCredentialShapes(text: string): string {
  return text
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(PARAMETER, secretParameter)
    .replace(FRAPPE_TOKEN, `$1 ${REDACTED}`)
    .replace(ANY_CASE_AUTH_SCHEME, (match: string, scheme: string, credentials: string) =>
      looksLikeCredentials(scheme, credentials) ? `${scheme} ${REDACTED}` : match,
    )
    .replace(JWT, REDACTED)
    .replace(PEM_PRIVATE_KEY, REDACTED);
}

/**
 * Basic credentials are base64 of "user:password"; a bearer token is long and not a word (it has digits or
 * punctuation). "Basic meal" and "Bearer bonds" are neither.
 */
function looksLikeCredentials(scheme: string, credentials: string): boolean {
  if (scheme.toLowerCase() === 'basic' && /^[A-Za-z0-9+/]+={0,2}$/.test(credentials)) {
    if (Buffer.from(credentials, 'base64').toString('latin1').includes(':')) return true;
  }
  return credentials.length >= 8 && /[\d._~+/=-]/.test(credentials);
}

function secretParameter(match: string, separator: string, name: string): string {
  return SECRET_KEY.test(name) || SECRET_PARAMETER.test(name) ? `${separator}${name}=${REDACTED}` : match;
}

function truncate(text: string): string {
  return text.length > MAX_TEXT_LENGTH ? `${text.slice(0, MAX_TEXT_LENGTH)}... (truncated)` : text;
}

/** Longest first, so a secret that contains another is replaced whole. Empty strings would match everywhere. */
function byLengthDescending(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((secret) => secret.length > 0))].sort((a, b) => b.length - a.length);
}
