/**
 * The Frappe REST API as the ERPNext dialect uses it: `/api/resource/{DocType}` list, read, insert and update,
 * `/api/method/...` calls, with X-Frappe-Site-Name when the connection names a site; Frappe's errors keep
 * `exc_type` and `_server_messages` (withFrappeMessages), and numbers it answers become Money exactly.
 */
import { FinanceError, isFinanceError } from '../../errors';
import { money } from '../../model/money';
import type { ErpMessage, Money } from '../../model/types';
import type { ErpHttp, ErpRequest, ErpResponse } from '../client';
import type { CallContext } from '../dialect';
import { UNKNOWN_SHAPE_ADVICE } from '../http-errors';
import { isRecord } from '../records';
import { decimalText, type Doc, type Filter } from './shared';

export class FrappeClient {
  readonly #http: ErpHttp;
  readonly #system: string;
  readonly #site?: string;

  constructor(http: ErpHttp, system: string, site: string | undefined) {
    this.#http = http;
    this.#system = system;
    this.#site = site;
  }

  docPath(doctype: string, name?: string): string {
    const base = `/api/resource/${encodeURIComponent(doctype)}`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  async list(
    doctype: string,
    options: { filters: Filter[]; fields: string[]; orderBy?: string; limit: number },
    ctx: CallContext,
  ): Promise<Doc[]> {
    const { data } = await this.call(
      {
        method: 'GET',
        path: this.docPath(doctype),
        query: {
          fields: JSON.stringify(options.fields),
          filters: JSON.stringify(options.filters),
          limit_page_length: options.limit,
          ...(options.orderBy ? { order_by: options.orderBy } : {}),
        },
      },
      ctx,
    );
    if (!isRecord(data) || !Array.isArray(data.data)) throw this.unexpected(`the ${doctype} list`, 'no data list');
    return data.data.filter(isRecord);
  }

  async get(doctype: string, name: string, ctx: CallContext): Promise<Doc | undefined> {
    try {
      const { data } = await this.call({ method: 'GET', path: this.docPath(doctype, name) }, ctx);
      return this.data(data, `${doctype} ${name}`);
    } catch (error) {
      if (isFinanceError(error) && error.httpStatus === 404) return undefined;
      throw error;
    }
  }

  async insert(doctype: string, body: Doc, ctx: CallContext): Promise<Doc> {
    const { data } = await this.call({ method: 'POST', path: this.docPath(doctype), body }, ctx);
    return this.data(data, `the inserted ${doctype}`);
  }

  async put(doctype: string, current: Doc, body: Doc, ctx: CallContext): Promise<Doc> {
    const { data } = await this.call({ method: 'PUT', path: this.docPath(doctype, String(current.name)), body }, ctx);
    return this.data(data, `the updated ${doctype}`);
  }

  submit(doctype: string, draft: Doc, ctx: CallContext): Promise<Doc> {
    return this.put(doctype, draft, { docstatus: 1, modified: draft.modified }, ctx);
  }

  async call(request: ErpRequest, ctx: CallContext): Promise<ErpResponse<unknown>> {
    const headers = this.#site ? { ...request.headers, 'X-Frappe-Site-Name': this.#site } : request.headers;
    try {
      return await this.#http.request<unknown>({ ...request, headers, correlationId: ctx.correlationId });
    } catch (error) {
      throw withFrappeMessages(error);
    }
  }

  data(data: unknown, what: string): Doc {
    if (!isRecord(data) || !isRecord(data.data) || typeof data.data.name !== 'string')
      throw this.unexpected(what, 'no data.name');
    return data.data;
  }

  money(value: unknown, currency: string, what: string): Money {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.unexpected(what, 'not a number');
    try {
      return money(decimalText(value), currency, { allowNegative: true, path: what });
    } catch {
      throw this.unexpected(what, `${value} has more decimals than ${currency}`);
    }
  }

  unexpected(what: string, problem: string): FinanceError {
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${this.#system}" (ERPNext) answered ${what} in a shape this dialect does not know (${problem}). Check the base URL (the site's address); ${UNKNOWN_SHAPE_ADVICE}`,
      {
        retryable: false,
      },
    );
  }
}

/** The error with Frappe's `_server_messages` (a JSON list of JSON strings) as erpMessages; a stale `modified` as 412. */
function withFrappeMessages(error: unknown): unknown {
  if (!isFinanceError(error)) return error;
  const body = error.details?.erpBody;
  const excType = isRecord(body) ? body.exc_type : undefined;
  const erpMessages: ErpMessage[] = [];
  if (isRecord(body) && typeof body._server_messages === 'string') {
    try {
      for (const text of JSON.parse(body._server_messages) as unknown[]) {
        const message = typeof text === 'string' ? (JSON.parse(text) as unknown) : text;
        if (isRecord(message)) {
          erpMessages.push({
            code: String(excType ?? 'Message'),
            severity: message.indicator === 'orange' ? 'warning' : message.indicator === 'blue' ? 'info' : 'error',
            text: String(message.message ?? '').replace(/<[^>]+>/g, ''),
          });
        }
      }
    } catch {
      // Not the documented shape: the raw body stays in details.erpBody.
    }
  }
  const stale = excType === 'TimestampMismatchError';
  return new FinanceError(stale ? 'ERP_CONFLICT' : error.code, error.message, {
    httpStatus: stale ? 412 : error.httpStatus,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    details: {
      ...error.details,
      erpMessages,
      ...(excType === 'BudgetError' ? { budget: { status: 'exceeded', erpMessages } } : {}),
    },
    cause: error,
  });
}
