/**
 * One HTTP exchange on node:http / node:https, for ErpClient's calls to the ERP and the source. It does what the
 * client needs of axios and no more: base URL + path, query string, JSON body, decompressed body, JSON parsed
 * when it is JSON. axios did the same with two to three times the CPU per request on a keep-alive loopback
 * connection (its config merging, header objects and interceptor chain run on every call), and a pipeline
 * makes three calls per event. The OAuth token endpoint, called once per token lifetime, stays on axios.
 *
 * Wire behaviour kept from axios, so ERPs see the same requests: the query is encoded as axios encodes it
 * (encodeURIComponent, then `:` `$` `,` kept and spaces as `+`, which OData `$filter` values rely on), gzip,
 * deflate and br answers are accepted and decompressed, redirects are not followed (a redirect would carry
 * credentials elsewhere), and no proxy from the environment is used.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';

export interface HttpExchange {
  method: string;
  /** The connection's base URL; `path` is joined to it. */
  baseUrl: string;
  path: string;
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
  headers: Record<string, string>;
  /** Stops the exchange from outside (a deadline, a connection closing); see ExchangeCancel. */
  cancel: ExchangeCancel;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
}

export interface HttpResult {
  status: number;
  /** Parsed JSON when the body is JSON, else the text ('' when empty). */
  data: unknown;
  /** Lower-case names; set-cookie stays an array. */
  headers: Record<string, string | string[]>;
}

export const ACCEPT_ENCODING = 'gzip, deflate, br';

/**
 * Stops an exchange in progress: the request is destroyed and the exchange rejects with the reason given. It
 * replaces an AbortSignal, whose listener node:http adds and removes on every request: in a keep-alive loopback
 * exchange that was about a quarter of the CPU (98 against 71 us, client and server in one process).
 */
export class ExchangeCancel {
  #request: http.ClientRequest | undefined;
  #reason: Error | undefined;

  /** Stops the exchange (now, or as soon as it starts); later calls change nothing. */
  cancel(reason: Error): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#request?.destroy(reason);
  }

  /** Called by exchange() with the request it sent. */
  attach(request: http.ClientRequest): void {
    this.#request = request;
    if (this.#reason !== undefined) request.destroy(this.#reason);
  }

  /** The exchange is over: nothing left to stop, and the request is not held on to. */
  detach(): void {
    this.#request = undefined;
  }
}

export function exchange(request: HttpExchange): Promise<HttpResult> {
  // The URL object gives the host and the base path; the request path is sent as built here, because the URL
  // class would percent-encode the ' of OData string literals, which axios left as they are.
  const url = new URL(joinUrl(request.baseUrl, request.path));
  const secure = url.protocol === 'https:';
  const requestPath = url.pathname + queryString(url.search, request.query);
  const { payload, contentType } = encodeBody(request.body);
  // Header names are case-insensitive: one spelling each, the later value winning, as axios merged them.
  const headers: Record<string, string | number> = { 'accept-encoding': ACCEPT_ENCODING };
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  if (payload !== undefined) {
    if (contentType && headers['content-type'] === undefined) headers['content-type'] = contentType;
    headers['content-length'] = payload.length;
  }
  return new Promise<HttpResult>((resolve, reject) => {
    const outgoing = (secure ? https : http).request(
      {
        protocol: url.protocol,
        // An IPv6 host comes as [::1] in a URL and without the brackets in request options.
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port,
        path: requestPath,
        method: request.method,
        headers,
        agent: secure ? request.httpsAgent : request.httpAgent,
      },
      (response) => {
        const chunks: Buffer[] = [];
        const body = decoded(response, request.method);
        body.on('data', (chunk: Buffer) => chunks.push(chunk));
        body.on('error', reject);
        response.on('error', reject);
        body.on('end', () => {
          const headersOut = { ...response.headers } as Record<string, string | string[]>;
          if (body !== response) delete headersOut['content-encoding'];
          resolve({ status: response.statusCode ?? 0, data: parsed(Buffer.concat(chunks)), headers: headersOut });
        });
      },
    );
    outgoing.on('error', reject);
    request.cancel.attach(outgoing);
    outgoing.end(payload);
  }).finally(() => request.cancel.detach());
}

/** axios's combineURLs: exactly one slash between the base and the path. */
function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** The path's own query, then axios's default params serializer for flat values (null and undefined left out). */
function queryString(search: string, query: HttpExchange['query']): string {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    pairs.push(`${encode(name)}=${encode(String(value))}`);
  }
  if (pairs.length === 0) return search;
  return (search === '' ? '?' : `${search}&`) + pairs.join('&');
}

function encode(value: string): string {
  return encodeURIComponent(value)
    .replace(/%3A/gi, ':')
    .replace(/%24/g, '$')
    .replace(/%2C/gi, ',')
    .replace(/%20/g, '+');
}

function encodeBody(body: unknown): { payload?: Buffer; contentType?: string } {
  if (body === undefined) return {};
  if (Buffer.isBuffer(body)) return { payload: body };
  if (typeof body === 'string') return { payload: Buffer.from(body, 'utf8') };
  return { payload: Buffer.from(JSON.stringify(body), 'utf8'), contentType: 'application/json' };
}

function decoded(response: http.IncomingMessage, method: string): Readable {
  // An answer without a body may still name an encoding; there is nothing to decompress.
  if (method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304) return response;
  // createUnzip detects gzip and zlib-wrapped deflate, which is what HTTP's "deflate" means (RFC 9110 8.4.1.2).
  switch ((response.headers['content-encoding'] ?? '').toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
    case 'deflate':
      return response.pipe(zlib.createUnzip({ flush: zlib.constants.Z_SYNC_FLUSH }));
    case 'br':
      return response.pipe(zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH }));
    default:
      return response;
  }
}

/** JSON when it parses (whatever the content type says, as axios did), else the text; a BOM is dropped. */
function parsed(body: Buffer): unknown {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
