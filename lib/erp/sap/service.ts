/**
 * One SAP Gateway OData v2 service as the dialect speaks to it (the purchase order, supplier invoice and
 * master data services share this): `sap-client` on every request, the CSRF token and its session cookies
 * for writes [D SAP KBA 3048103], SAP's error body turned into erpMessages, and the `sap-message` header of
 * a successful write read as messages (warnings such as availability control's tolerance warning).
 *
 * The token is fetched per service (a GET of the service root with `X-CSRF-Token: Fetch`): Gateway binds it to
 * the session, and a landscape may route services to different back ends, so one service's token is not
 * assumed to work for another. Gateway refuses a write whose token or session expired with 403 and the answer
 * header `x-csrf-token: Required` [D SAP Gateway CSRF protection]: that fetches the token again and repeats the
 * write once. A 403 without that header is a refusal of authorization, which a new token does not change: it is
 * passed on at once, and the write is not repeated.
 */
import { FinanceError, isFinanceError } from '../../errors';
import type { ErpMessage } from '../../model/types';
import type { ErpHttp, ErpRequest, ErpResponse } from '../client';
import type { CallContext } from '../dialect';
import { UNKNOWN_SHAPE_ADVICE } from '../http-errors';
import { isRecord } from '../records';

/**
 * An OData string literal: in single quotes, a quote inside doubled (OData v2 URI conventions, 2.2.2), so a
 * reference such as `coupa:O'Brien-1` is looked up as it is instead of breaking the $filter (400).
 */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const CSRF_HEADER = 'x-csrf-token';

/**
 * Whether `error` is Gateway's refusal of a write for its CSRF token: 403 with `x-csrf-token: Required` (kept by the
 * client, see ErpRequest.keepAnswerHeaders). A stub transport gives the header the same way.
 */
function csrfTokenRequired(error: unknown): boolean {
  if (!isFinanceError(error) || error.httpStatus !== 403) return false;
  const headers = error.details?.answerHeaders;
  const value = isRecord(headers) ? headers[CSRF_HEADER] : undefined;
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.trim().toLowerCase() === 'required';
}

/** Availability control's message codes: classic budget control (BP/60x) and S/4HANA AVC (FCO_AVC_*). */
export const AVAILABILITY_CONTROL = /^(BP\/60[0-9]|FCO_AVC_)/;

interface Csrf {
  token: string;
  cookie: string;
}

export interface SapServiceOptions {
  http: ErpHttp;
  /** Connection name, for messages. */
  system: string;
  /** e.g. /sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV */
  path: string;
  client?: string;
  /** The communication scenario that grants the service, named when the token is refused. */
  scenario: string;
}

export class SapService {
  readonly path: string;
  readonly #options: SapServiceOptions;
  #csrf?: Promise<Csrf>;

  constructor(options: SapServiceOptions) {
    this.#options = options;
    this.path = options.path;
  }

  read(request: Pick<ErpRequest, 'path' | 'query'>, ctx: CallContext): Promise<ErpResponse<unknown>> {
    return this.#send({ method: 'GET', ...request }, ctx);
  }

  /** A write with the CSRF token and its cookies; a 403 for the token fetches both again and repeats the write once. */
  async write(request: ErpRequest, ctx: CallContext): Promise<ErpResponse<unknown>> {
    for (let attempt = 0; ; attempt += 1) {
      const csrf = await this.#token(ctx);
      try {
        // No Cookie header at all when SAP set none: an empty one is no session either, and some proxies refuse it.
        const session: Record<string, string> = csrf.cookie === '' ? {} : { Cookie: csrf.cookie };
        return await this.#send(
          {
            ...request,
            headers: { ...request.headers, 'X-CSRF-Token': csrf.token, ...session },
            keepAnswerHeaders: [...(request.keepAnswerHeaders ?? []), CSRF_HEADER],
          },
          ctx,
        );
      } catch (error) {
        if (attempt > 0 || !csrfTokenRequired(error)) throw error;
        if (this.#csrf !== undefined && (await this.#csrf.catch(() => undefined)) === csrf) this.#csrf = undefined;
      }
    }
  }

  /** A response's answer in `d`, or an error saying the shape is unknown. */
  entity(data: unknown, what: string, key: string): Record<string, unknown> {
    const entity = isRecord(data) && isRecord(data.d) ? data.d : undefined;
    if (!entity || typeof entity[key] !== 'string') throw this.unexpected(what, `no d.${key}`);
    return entity;
  }

  /** A collection's `d.results` and its `__next` link (null on the last page). */
  results(data: unknown, what: string): { results: Record<string, unknown>[]; next: string | null } {
    const d = isRecord(data) && isRecord(data.d) ? data.d : undefined;
    if (!d || !Array.isArray(d.results)) throw this.unexpected(what, 'no d.results');
    return { results: d.results.filter(isRecord), next: typeof d.__next === 'string' ? d.__next : null };
  }

  unexpected(what: string, problem: string): FinanceError {
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${this.#options.system}" (SAP) answered ${what} in a shape this dialect does not know (${problem}). Check the base URL and service path ${this.path}; ${UNKNOWN_SHAPE_ADVICE}`,
      { retryable: false },
    );
  }

  #token(ctx: CallContext): Promise<Csrf> {
    this.#csrf ??= (async () => {
      const response = await this.#send(
        { method: 'GET', path: `${this.path}/`, headers: { 'X-CSRF-Token': 'Fetch' } },
        ctx,
      );
      const token = response.headers['x-csrf-token'];
      const setCookie = response.headers['set-cookie'];
      const cookies = (Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []).map(
        (cookie) => cookie.split(';')[0],
      );
      if (typeof token !== 'string' || token === '' || token.toLowerCase() === 'required') {
        throw new FinanceError(
          'ERP_AUTH_FAILED',
          `ERP "${this.#options.system}" gave no CSRF token; check that the communication user may call ${this.path} (communication scenario ${this.#options.scenario}).`,
        );
      }
      return { token, cookie: cookies.join('; ') };
    })();
    this.#csrf.catch(() => {
      this.#csrf = undefined;
    });
    return this.#csrf;
  }

  async #send(request: ErpRequest, ctx: CallContext): Promise<ErpResponse<unknown>> {
    const client = this.#options.client;
    try {
      return await this.#options.http.request<unknown>({
        ...request,
        query: client ? { ...request.query, 'sap-client': client } : request.query,
        correlationId: ctx.correlationId,
      });
    } catch (error) {
      throw withSapMessages(error);
    }
  }
}

function severityOf(value: unknown): ErpMessage['severity'] {
  // Gateway writes words (error, warning, info, success); ABAP message types are letters (E, A, W, I, S).
  const text = String(value ?? '').toLowerCase();
  if (text === 'warning' || text === 'w') return 'warning';
  if (text === 'info' || text === 'i' || text === 'success' || text === 's') return 'info';
  return 'error';
}

function messageOf(detail: Record<string, unknown>): ErpMessage {
  return { code: String(detail.code ?? ''), severity: severityOf(detail.severity), text: String(detail.message ?? '') };
}

/**
 * The messages of a successful write's `sap-message` header: a JSON object `{code, message, severity, target,
 * details: [...]}` [D SAP Gateway "sap-message" header]. Unreadable headers give none (they only inform).
 */
export function sapMessagesOf(response: ErpResponse<unknown>): ErpMessage[] {
  const header = response.headers['sap-message'];
  const text = Array.isArray(header) ? header[0] : header;
  if (typeof text !== 'string' || text === '') return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!isRecord(parsed)) return [];
    const details = Array.isArray(parsed.details) ? parsed.details.filter(isRecord) : [];
    return [messageOf(parsed), ...details.map(messageOf)];
  } catch {
    return [];
  }
}

/** The budget warnings among a write's messages: availability-control codes of severity warning. */
export function budgetWarningsOf(messages: readonly ErpMessage[]): ErpMessage[] {
  return messages.filter((message) => message.severity === 'warning' && AVAILABILITY_CONTROL.test(message.code));
}

/** The error with SAP's errordetails as erpMessages, and an availability-control refusal as a budget result. */
export function withSapMessages(error: unknown): unknown {
  if (!isFinanceError(error)) return error;
  const body = error.details?.erpBody;
  const inner =
    isRecord(body) && isRecord(body.error) && isRecord(body.error.innererror) ? body.error.innererror : undefined;
  const details = inner && Array.isArray(inner.errordetails) ? inner.errordetails.filter(isRecord) : [];
  if (details.length === 0) return error;
  const erpMessages: ErpMessage[] = details.map(messageOf);
  const avc = erpMessages.filter((message) => AVAILABILITY_CONTROL.test(message.code) && message.severity === 'error');
  return new FinanceError(error.code, error.message, {
    httpStatus: error.httpStatus,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    details: {
      ...error.details,
      erpMessages,
      ...(avc.length > 0 ? { budget: { status: 'exceeded', erpMessages: avc } } : {}),
    },
    cause: error,
  });
}
