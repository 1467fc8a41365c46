/**
 * One HTTP exchange on node:http / node:https, for ErpClient's calls to the ERP, the source and the OAuth2 token
 * endpoint. It does what the client needs of axios and no more: base URL + path, query string, JSON body,
 * decompressed body, JSON parsed when it is JSON. axios did the same with two to three times the CPU per request
 * on a keep-alive loopback connection (its config merging, header objects and interceptor chain run on every
 * call), and a pipeline makes three calls per event. The token endpoint left axios too: axios's timeout only
 * bounds a silence on the socket, and it reads an answer of any size.
 *
 * Wire behaviour kept from axios, so ERPs see the same requests: the query is encoded as axios encodes it
 * (encodeURIComponent, then `:` `$` `,` kept and spaces as `+`, which OData `$filter` values rely on), gzip,
 * deflate and br answers are accepted and decompressed, and redirects are not followed (a redirect would carry
 * credentials elsewhere). A forward proxy is the agents' business (proxy-agents.ts): an https call tunnels
 * inside the https agent; a plain-HTTP call through a ForwardingHttpAgent's proxy is sent here to the proxy,
 * with the absolute URL as its path.
 *
 * Unlike axios (whose default maxContentLength is unlimited), an answer is read up to MAX_ANSWER_BYTES after
 * decompression: a runaway listing or a gzip bomb would otherwise grow one buffer until the string conversion
 * throws outside any promise and takes the whole Node-RED process down.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';
import { ForwardingHttpAgent } from './proxy-agents';

export interface HttpExchange {
  method: string;
  /** The connection's base URL; `path` is joined to it. */
  baseUrl: string;
  /** Below the base URL; '' for the base URL itself (a token endpoint's full URL). */
  path: string;
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
  headers: Record<string, string>;
  /** Stops the exchange from outside (a deadline, a connection closing); see ExchangeCancel. */
  cancel: ExchangeCancel;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  /** Most bytes of the (decompressed) answer read before the exchange fails; MAX_ANSWER_BYTES when not given. */
  maxAnswerBytes?: number;
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
 * 50 MB: far above a page of any ERP listing (Business Central's largest page, 20,000 records, is a few tens of
 * MB at most), far below what makes a string too long for V8 (about 512 MB) or starves a Node-RED host.
 */
export const MAX_ANSWER_BYTES = 50 * 1024 * 1024;

/** Why an answer could not be read: over the size limit, not decodable (compression, text), or cut off. */
export type UnreadableKind = 'too-large' | 'undecodable' | 'cut-off';

/**
 * The ERP answered (the status line arrived) but the body could not be read. Kept apart from failures
 * without an answer, so the error can say what the ERP answered; for a write it still means "may have been
 * applied" (errorForTransport in http-errors.ts).
 */
export class UnreadableAnswerError extends Error {
  /** The HTTP status the ERP answered with. */
  readonly status: number;
  readonly kind: UnreadableKind;
  /** The code of the underlying failure (Z_DATA_ERROR, ECONNRESET...), or ANSWER_TOO_LARGE. */
  readonly code: string;
  /** For 'too-large': the limit, in bytes. */
  readonly limitBytes?: number;

  constructor(
    status: number,
    kind: UnreadableKind,
    code: string,
    reason: string,
    options: { cause?: unknown; limitBytes?: number } = {},
  ) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UnreadableAnswerError';
    this.status = status;
    this.kind = kind;
    this.code = code;
    this.limitBytes = options.limitBytes;
  }
}

/**
 * Stops an exchange in progress: the request is destroyed and the exchange rejects with the reason given. It
 * replaces an AbortSignal, whose listener node:http adds and removes on every request: in a keep-alive loopback
 * exchange that was about a quarter of the CPU (98 against 71 us, client and server in one process).
 */
export class ExchangeCancel {
  #request: http.ClientRequest | undefined;
  #abandon: ((reason: Error) => void) | undefined;
  #reason: Error | undefined;
  #hadConnection = false;

  /** Stops the exchange (now, or as soon as it starts); later calls change nothing. */
  cancel(reason: Error): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    // A request still without a socket was never written anywhere: through a proxy, the tunnel was not open.
    this.#hadConnection = this.#request?.socket != null;
    // node:http reports a destroyed request only once the agent hands it a socket, which for a tunnel is when
    // the proxy answers CONNECT, if ever: the exchange is given up at once instead.
    if (this.#request !== undefined && !this.#hadConnection) this.#abandon?.(reason);
    this.#request?.destroy(reason);
  }

  /** Whether the cancelled request had its connection (for a proxied https call: its tunnel) when stopped. */
  get hadConnection(): boolean {
    return this.#hadConnection;
  }

  /** Called by exchange() with the request it sent, and how to give the exchange up before it has a socket. */
  attach(request: http.ClientRequest, abandon?: (reason: Error) => void): void {
    this.#request = request;
    this.#abandon = abandon;
    if (this.#reason === undefined) return;
    abandon?.(this.#reason);
    request.destroy(this.#reason);
  }

  /** Why the exchange was stopped, once it was. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  /** The exchange is over: nothing left to stop, and the request is not held on to. */
  detach(): void {
    this.#request = undefined;
    this.#abandon = undefined;
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
  // An IPv6 host comes as [::1] in a URL and without the brackets in request options.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const proxy =
    !secure && request.httpAgent instanceof ForwardingHttpAgent
      ? request.httpAgent.routeFor({ protocol: url.protocol, hostname, port: Number(url.port) || 80 })
      : undefined;
  if (proxy?.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization;
  return new Promise<HttpResult>((resolve, reject) => {
    const outgoing = (secure ? https : http).request(
      {
        protocol: url.protocol,
        hostname: proxy ? proxy.host : hostname,
        port: proxy ? proxy.port : url.port,
        // Through a proxy, the path is the absolute URL (RFC 9112 3.2.2); Host still names the ERP.
        path: proxy ? `${url.protocol}//${url.host}${requestPath}` : requestPath,
        method: request.method,
        headers: proxy ? { host: url.host, ...headers } : headers,
        agent: secure ? request.httpsAgent : request.httpAgent,
      },
      (response) =>
        readAnswer(response, request.method, request.maxAnswerBytes ?? MAX_ANSWER_BYTES, resolve, (error) => {
          // A cancel (deadline, close) also breaks the body off: its reason says more than the broken body.
          reject(request.cancel.reason ?? error);
          // The rest of the answer is not wanted, and the socket must not go back to the pool half-read.
          outgoing.destroy();
        }),
    );
    outgoing.on('error', reject);
    request.cancel.attach(outgoing, reject);
    outgoing.end(payload);
  }).finally(() => request.cancel.detach());
}

/**
 * Reads the body up to `maxBytes`, then resolves with the result. Every failure after the status line (the
 * size limit, a corrupt compressed body, a connection cut mid-body, text that cannot be made) goes to `fail`
 * as an UnreadableAnswerError: thrown in a stream listener it would crash the process instead.
 */
function readAnswer(
  response: http.IncomingMessage,
  method: string,
  maxBytes: number,
  resolve: (result: HttpResult) => void,
  fail: (error: UnreadableAnswerError) => void,
): void {
  const status = response.statusCode ?? 0;
  const body = decoded(response, method);
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  const unreadable = (error: UnreadableAnswerError) => {
    if (failed) return;
    failed = true;
    chunks.length = 0;
    // Stops decompressing too: a gzip bomb must not go on inflating after the limit.
    if (body !== response) body.destroy();
    fail(error);
  };
  // Counted after decompression: a small compressed answer can unpack to hundreds of MB.
  body.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) unreadable(tooLarge(status, maxBytes));
    else if (!failed) chunks.push(chunk);
  });
  // Without compression the body is the response, and its only errors are the connection's.
  const bodyFailure: UnreadableKind = body === response ? 'cut-off' : 'undecodable';
  body.on('error', (error: Error) => unreadable(brokenBody(status, bodyFailure, error)));
  if (body !== response) response.on('error', (error: Error) => unreadable(brokenBody(status, 'cut-off', error)));
  body.on('end', () => {
    if (failed) return;
    try {
      resolve({ status, data: parsed(Buffer.concat(chunks)), headers: answerHeaders(response, body) });
    } catch (error) {
      // The text conversion (ERR_STRING_TOO_LONG) or anything else: a rejection, never an uncaught throw.
      unreadable(brokenBody(status, 'undecodable', error));
    }
  });
}

function tooLarge(status: number, maxBytes: number): UnreadableAnswerError {
  const reason = `the answer is larger than ${describeBytes(maxBytes)}`;
  return new UnreadableAnswerError(status, 'too-large', 'ANSWER_TOO_LARGE', reason, { limitBytes: maxBytes });
}

function brokenBody(status: number, kind: UnreadableKind, error: unknown): UnreadableAnswerError {
  const facts = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  const code = typeof facts.code === 'string' ? facts.code : 'ERR_BODY';
  const message = typeof facts.message === 'string' && facts.message !== '' ? facts.message : String(error);
  return new UnreadableAnswerError(status, kind, code, message, { cause: error });
}

/** Whole MB when the limit is whole MB (the default), else bytes: a message names the limit exactly. */
export function describeBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return Number.isInteger(mb) ? `${mb} MB` : `${bytes} bytes`;
}

function answerHeaders(response: http.IncomingMessage, body: Readable): Record<string, string | string[]> {
  const headers = { ...response.headers } as Record<string, string | string[]>;
  // The body handed on is decompressed: its encoding header would be false.
  if (body !== response) delete headers['content-encoding'];
  return headers;
}

/** axios's combineURLs: exactly one slash between the base and the path, none added for an empty path. */
function joinUrl(baseUrl: string, path: string): string {
  if (path === '') return baseUrl;
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
      return response.pipe(zlib.createUnzip({ flush: zlib.constants.Z_SYNC_FLUSH }));
    case 'deflate':
      return inflated(response);
    case 'br':
      return response.pipe(zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH }));
    default:
      return response;
  }
}

/**
 * "deflate" as servers send it: zlib-wrapped as the RFC says, or raw deflate without the wrapper, as some
 * servers (older IIS among them) do and axios accepted. The first byte tells: a zlib stream starts with a CMF
 * byte whose low nibble is 8 (the deflate method), which a raw deflate block's first byte can have too, so
 * the two-byte header check of RFC 1950 decides. The stream is handed on as soon as the first byte is seen.
 */
function inflated(response: http.IncomingMessage): Readable {
  const output = new PassThrough();
  let inflater: zlib.Inflate | zlib.InflateRaw | undefined;
  let head: Buffer = Buffer.alloc(0);
  const start = (wrapped: boolean): zlib.Inflate | zlib.InflateRaw => {
    const options = { flush: zlib.constants.Z_SYNC_FLUSH };
    const started = wrapped ? zlib.createInflate(options) : zlib.createInflateRaw(options);
    started.on('error', (error) => output.destroy(error));
    started.pipe(output);
    started.write(head);
    inflater = started;
    return started;
  };
  response.on('data', (chunk: Buffer) => {
    if (inflater) {
      inflater.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length >= 2) start(isZlibHeader(head));
  });
  response.on('end', () => {
    // An empty body (some servers label even that as compressed) is empty, not a broken stream.
    if (!inflater && head.length === 0) output.end();
    else (inflater ?? start(isZlibHeader(head))).end();
  });
  // Destroying the output (the size limit) stops the inflating and the reading.
  output.on('close', () => {
    inflater?.destroy();
  });
  return output;
}

/** RFC 1950: method 8 in the low nibble of CMF, and CMF * 256 + FLG a multiple of 31. */
function isZlibHeader(head: Buffer): boolean {
  return head.length >= 2 && (head[0] & 0x0f) === 8 && (head[0] * 256 + head[1]) % 31 === 0;
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
