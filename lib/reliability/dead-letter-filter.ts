/**
 * Which dead letters a command is about: a filter for listing (from msg.payload or an admin query string, where
 * every value is text) and a selection for replay and purge (ids, a filter, or all). Mistakes are refused with
 * a sentence that shows the accepted forms, so a typo such as `{stauts: 'open'}` never selects everything.
 */
import { FinanceError } from '../errors';
import { isRecord } from '../erp/records';
import { DEAD_LETTER_STATUSES, type DeadLetter, type DeadLetterStatus } from './dead-letter-record';

export interface DeadLetterFilter {
  status?: DeadLetterStatus;
  code?: string;
  /** The event's source (msg.finance.source). */
  source?: string;
  docType?: string;
  /** Only letters created at or after this time (ms since the epoch). */
  since?: number;
}

export interface ListQuery extends DeadLetterFilter {
  /** Letters per page: 1 to 1000, default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export type LetterSelection = { ids: string[] } | { filter: DeadLetterFilter };

export const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 1000;
/** Bounds one request; larger sets are selected by filter. */
const MAX_SELECTED_IDS = 10_000;

const FILTER_FIELDS = ['status', 'code', 'source', 'docType', 'since'] as const;
const QUERY_FIELDS: readonly string[] = [...FILTER_FIELDS, 'limit', 'cursor'];

const SELECTION_FORMS = `{ids: ["<id>", ...]}, {id: "<id>"}, a filter such as {code: "ERP_REJECTED"} or {filter: {...}}, or "all"`;

/** A list query from msg.payload or a query string; nothing (or "") lists the first page of all letters. */
export function parseListQuery(input: unknown): ListQuery {
  if (input === undefined || input === null || input === '') return {};
  if (!isRecord(input)) {
    throw invalid(`A list filter must be an object with any of ${QUERY_FIELDS.join(', ')}; got ${describe(input)}.`);
  }
  rejectUnknownFields(input, QUERY_FIELDS, 'list filter');
  const query: ListQuery = readFilter(input);
  const limit = given(input.limit);
  if (limit !== undefined) query.limit = wholeNumber(limit, 'limit', 1, MAX_LIST_LIMIT);
  const cursor = given(input.cursor);
  if (cursor !== undefined) {
    if (typeof cursor !== 'string') throw invalid('cursor must be the nextCursor text of the previous page.');
    query.cursor = cursor;
  }
  return query;
}

/** Which letters to replay or purge. */
export function parseSelection(input: unknown, action: 'replay' | 'purge'): LetterSelection {
  if (input === 'all' || (isRecord(input) && input.all === true && Object.keys(input).length === 1)) {
    return { filter: {} };
  }
  if (!isRecord(input)) throw invalid(`Say which letters to ${action}: ${SELECTION_FORMS}.`);
  if ('ids' in input || 'id' in input) {
    rejectUnknownFields(input, ['ids', 'id'], `${action} selection`);
    if ('ids' in input && 'id' in input) {
      throw invalid(`Give either id or ids, not both: say which letters to ${action}.`);
    }
    const ids = 'ids' in input ? input.ids : [input.id];
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      ids.length > MAX_SELECTED_IDS ||
      !ids.every((id) => typeof id === 'string' && id !== '')
    ) {
      throw invalid(`ids must be a list of 1 to ${MAX_SELECTED_IDS} dead-letter ids to ${action}.`);
    }
    return { ids: [...new Set(ids as string[])] };
  }
  const criteria = 'filter' in input && Object.keys(input).length === 1 ? input.filter : input;
  if (!isRecord(criteria))
    throw invalid(`filter must be an object. Say which letters to ${action}: ${SELECTION_FORMS}.`);
  rejectUnknownFields(criteria, FILTER_FIELDS, `${action} filter`);
  const filter = readFilter(criteria);
  if (Object.keys(filter).length === 0) throw invalid(`Say which letters to ${action}: ${SELECTION_FORMS}.`);
  return { filter };
}

export function matchesFilter(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  return (
    (filter.status === undefined || letter.status === filter.status) &&
    (filter.code === undefined || letter.error.code === filter.code) &&
    (filter.source === undefined || letter.source === filter.source) &&
    (filter.docType === undefined || letter.docType === filter.docType) &&
    (filter.since === undefined || Date.parse(letter.createdAt) >= filter.since)
  );
}

function readFilter(input: Record<string, unknown>): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  const status = given(input.status);
  if (status !== undefined) {
    if (!DEAD_LETTER_STATUSES.includes(status as DeadLetterStatus)) {
      throw invalid(`status must be one of ${DEAD_LETTER_STATUSES.join(', ')}; got ${describe(status)}.`);
    }
    filter.status = status as DeadLetterStatus;
  }
  for (const field of ['code', 'source', 'docType'] as const) {
    const value = given(input[field]);
    if (value === undefined) continue;
    if (typeof value !== 'string') throw invalid(`${field} must be text; got ${describe(value)}.`);
    filter[field] = value;
  }
  const since = given(input.since);
  if (since !== undefined) filter.since = time(since);
  return filter;
}

/** A time as ms since the epoch, an ISO 8601 text, or the digits of ms (from a query string). */
function time(value: unknown): number {
  const ms =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : typeof value === 'string'
          ? Date.parse(value)
          : NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    throw invalid(
      `since must be a time: ms since the epoch or ISO 8601 such as 2025-01-31T00:00:00Z; got ${describe(value)}.`,
    );
  }
  const asMilliseconds = typeof value === 'number' || /^\d+$/.test(value as string);
  if (asMilliseconds && ms > 0 && ms < MIN_SINCE_MS) throw implausibleSince(value);
  return ms;
}

/**
 * Taken as milliseconds, a year (2025), a date without dashes (20250301) or seconds since the epoch
 * (1740819600) all fall in the first months of 1970 and would select every letter.
 */
const MIN_SINCE_MS = 1e10;

function implausibleSince(value: unknown): FinanceError {
  return invalid(
    `since ${describe(value)} would be read as milliseconds since the epoch, i.e. early 1970, and select every ` +
      'letter; give milliseconds since the epoch (e.g. 1740819600000) or an ISO 8601 time such as 2025-01-31T00:00:00Z.',
  );
}

function wholeNumber(value: unknown, field: string, min: number, max: number): number {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw invalid(`${field} must be a whole number from ${min} to ${max}; got ${describe(value)}.`);
  }
  return number;
}

/** Query strings send empty fields ("status=") for "any". */
function given(value: unknown): unknown {
  return value === '' || value === null ? undefined : value;
}

function rejectUnknownFields(input: Record<string, unknown>, known: readonly string[], what: string): void {
  const unknown = Object.keys(input).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw invalid(`The ${what} has unknown field(s) ${unknown.join(', ')}; the fields are ${known.join(', ')}.`);
  }
}

function describe(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json.length > 60 ? `${json.slice(0, 60)}...` : json;
}

function invalid(message: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', message);
}
