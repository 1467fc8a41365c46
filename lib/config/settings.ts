/**
 * Reading a node's dialog settings. Node-RED hands every field over as a string (or whatever the editor
 * stored), so numbers are checked here once, at deploy, with a message that names the field.
 */
import { redactText } from '../erp/redact';
import { FinanceError } from '../errors';

export function integerSetting(
  value: unknown,
  field: string,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number {
  // Blank (spaces included) is the default, as in decimalSetting: Number('  ') would be 0, a valid value of
  // some fields (0 minutes: no schedule) that the analyst did not enter.
  if (value === undefined || value === null || String(value).trim() === '') return fallback;
  const number = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `${field} must be a whole number from ${min} to ${max}; it is "${String(value)}". Fix it in the node's dialog.`,
      { details: { field } },
    );
  }
  return number;
}

export function requiredText(value: unknown, field: string, hint: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new FinanceError('CONFIG_INVALID', `${field} is empty: ${hint}.`, { details: { field } });
  }
  return value.trim();
}

export function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function httpUrl(value: unknown, field: string): string {
  const text = requiredText(value, field, 'enter the http:// or https:// address of the system');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FinanceError(
      'CONFIG_INVALID',
      // Without the credentials a pasted URL may carry (https://user:password@..., ?api_key=...).
      `${field} "${redactText(text, [])}" is not a URL. Enter e.g. https://erp.example.com/api.`,
      {
        details: { field },
      },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FinanceError('CONFIG_INVALID', `${field} must start with http:// or https://, not ${url.protocol}.`, {
      details: { field },
    });
  }
  if (url.username || url.password) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `${field} must not contain a user name or password; put credentials in the Authentication fields.`,
      { details: { field } },
    );
  }
  return text.replace(/\/+$/, '');
}

/**
 * A base URL that request paths are appended to (an ERP's or a source's API): httpUrl without a query or a
 * fragment, which would end up in the middle of every request's path (`/api?api_key=K/v2.0/companies`), and a
 * key in it would sit in the flow file, readable by any editor user.
 */
export function httpBaseUrl(value: unknown, field: string): string {
  const text = httpUrl(value, field);
  const url = new URL(text);
  if (url.search || url.hash) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `${field} must not contain a query (?...) or a fragment (#...): request paths are appended to it. Put an API ` +
        'key in the Authentication fields (e.g. an API key header), where it is kept as a credential.',
      { details: { field } },
    );
  }
  return text;
}
