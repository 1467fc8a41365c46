/**
 * Just enough of the sandbox ERP (lib/sandbox/API.md) to test the sandbox dialect against: purchase orders
 * with ETags, postings, budget availability and paged master data. Not the real sandbox, on purpose: the
 * dialect must work from the contract alone.
 */
import type http from 'node:http';
import { sum } from '../../../lib/model/money';
import type { Money } from '../../../lib/model/types';
import { sendJson, startServer, type TestServer } from './helpers';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface CannedAnswer {
  method?: string;
  status: number;
  body: unknown;
  /** Sent as it is instead of `body` as JSON: an HTML page from a proxy, a JSON body cut off short. */
  text?: { contentType: string; content: string };
  /** Runs when the answer is given, e.g. to change state as a concurrent client would have. */
  sideEffect?: () => void;
}

type Doc = Record<string, unknown> & { id: string; externalReference: string; etag: string; status: string };

export interface FakeSandbox {
  url: string;
  requests: RecordedRequest[];
  purchaseOrders: Map<string, Doc>;
  postings: Map<string, Doc>;
  /** PATCH and cancel answer 412 this many more times, each time as if someone else changed the PO. */
  concurrentChanges: number;
  /** Answers the next request (with this method, if given) with this instead of handling it. */
  nextAnswer: CannedAnswer | null;
  budgetAnswer: { status: number; body: unknown };
  employees: Record<string, unknown>[];
  close(): Promise<void>;
}

function problem(status: number, code: string, extra: Record<string, unknown> = {}) {
  return { status, body: { type: 'about:blank', title: code, status, detail: `${code} detail`, code, ...extra } };
}

export async function startFakeSandbox(): Promise<FakeSandbox> {
  let counter = 0;
  const state = {
    requests: [] as RecordedRequest[],
    purchaseOrders: new Map<string, Doc>(),
    postings: new Map<string, Doc>(),
    concurrentChanges: 0,
    nextAnswer: null as CannedAnswer | null,
    budgetAnswer: { status: 200, body: {} as unknown },
    employees: [] as Record<string, unknown>[],
  };

  function bump(doc: Doc): void {
    doc.etag = `"${Number(doc.etag.replace(/"/g, '')) + 1}"`;
  }

  function route(
    req: http.IncomingMessage,
    rawBody: string,
  ): { status: number; body: unknown; etag?: string; text?: CannedAnswer['text'] } {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const body: unknown = rawBody ? JSON.parse(rawBody) : undefined;
    state.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    });
    const canned = state.nextAnswer;
    if (canned && (canned.method === undefined || canned.method === req.method)) {
      state.nextAnswer = null;
      canned.sideEffect?.();
      return canned;
    }
    const match = /^\/api\/v1\/companies\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!match) return problem(404, 'NO_ROUTE');
    const [, , rest] = match;
    const segments = rest.split('/');
    const collection = segments[0] === 'purchaseOrders' ? state.purchaseOrders : state.postings;
    const input = body as Record<string, unknown>;

    if (rest === 'budget-availability' && req.method === 'POST') return state.budgetAnswer;
    if (rest === 'employees' && req.method === 'GET') {
      const start = Number(url.searchParams.get('cursor') ?? '0');
      const limit = Number(url.searchParams.get('limit') ?? '100');
      const items = state.employees.slice(start, start + limit);
      const next = start + limit < state.employees.length ? String(start + limit) : null;
      return { status: 200, body: { items, nextCursor: next } };
    }
    if ((segments[0] === 'purchaseOrders' || segments[0] === 'postings') && segments.length === 1) {
      if (req.method === 'GET') {
        const ref = url.searchParams.get('externalReference');
        return {
          status: 200,
          body: { items: [...collection.values()].filter((doc) => doc.externalReference === ref) },
        };
      }
      const existing = [...collection.values()].find((doc) => doc.externalReference === input.externalReference);
      if (existing) return problem(409, 'DUPLICATE_REFERENCE', { existingId: existing.id });
      counter += 1;
      const lines = input.lines as { amount: Money }[];
      const isPo = segments[0] === 'purchaseOrders';
      const doc: Doc = {
        ...input,
        id: `${isPo ? 'po' : 'pst'}-${counter}`,
        externalReference: String(input.externalReference),
        number: isPo ? `PO-${String(counter).padStart(6, '0')}` : `JNL-${String(counter).padStart(6, '0')}`,
        status: isPo ? 'open' : 'posted',
        etag: '"1"',
        total: sum(lines.map((line) => line.amount)),
        ...(isPo ? {} : { postedAt: '2026-11-27T12:00:00Z' }),
      };
      collection.set(doc.id, doc);
      return { status: 201, body: doc, etag: doc.etag };
    }
    const doc = collection.get(segments[1]);
    if (!doc) return problem(404, 'NOT_FOUND');
    if (req.method === 'GET') return { status: 200, body: doc, etag: doc.etag };
    if (req.headers['if-match'] === undefined) return problem(428, 'PRECONDITION_REQUIRED');
    if (state.concurrentChanges > 0) {
      state.concurrentChanges -= 1;
      bump(doc);
      return problem(412, 'ETAG_MISMATCH');
    }
    if (req.headers['if-match'] !== doc.etag) return problem(412, 'ETAG_MISMATCH');
    if (req.method === 'PATCH') Object.assign(doc, input);
    else if (segments[2] === 'cancel') {
      if (doc.status === 'cancelled') return problem(409, 'ALREADY_CANCELLED');
      doc.status = 'cancelled';
    }
    bump(doc);
    return { status: 200, body: doc, etag: doc.etag };
  }

  const server: TestServer = await startServer((req, res, rawBody) => {
    const answer = route(req, rawBody);
    if (answer.text) {
      res.writeHead(answer.status, { 'Content-Type': answer.text.contentType });
      res.end(answer.text.content);
      return;
    }
    const contentType = answer.status >= 400 ? 'application/problem+json' : 'application/json';
    sendJson(res, answer.status, answer.body, {
      'Content-Type': contentType,
      ...(answer.etag ? { ETag: answer.etag } : {}),
    });
  });

  return Object.assign(state, { url: server.url, close: () => server.close() });
}
