import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import {
  ExchangeCancel,
  MAX_ANSWER_BYTES,
  UnreadableAnswerError,
  exchange,
  type HttpExchange,
} from '../../../lib/erp/http-transport';

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('exchange (the ERP client transport)', () => {
  let server: http.Server;
  let baseUrl: string;
  let seen: Seen[];
  /** What the server answers next: status, headers and body bytes, after `delayMs` if given. */
  let answer: { status: number; headers: Record<string, string>; body: Buffer; delayMs?: number };
  const httpAgent = new http.Agent({ keepAlive: true });
  const httpsAgent = new https.Agent({ keepAlive: true });

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: Buffer.concat(chunks).toString(),
        });
        const { status, headers, body, delayMs } = answer;
        const send = () => {
          if (response.destroyed) return;
          response.writeHead(status, headers);
          response.end(body);
        };
        if (delayMs === undefined) send();
        else setTimeout(send, delayMs).unref();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2.0/`;
  });
  beforeEach(() => {
    seen = [];
    answer = { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"ok":true}') };
  });
  afterAll(async () => {
    httpAgent.destroy();
    httpsAgent.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const waitUntilSeen = async (count: number) => {
    while (seen.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  const call = (overrides: Partial<HttpExchange> = {}) =>
    exchange({
      method: 'GET',
      baseUrl,
      path: '/companies',
      headers: {},
      cancel: new ExchangeCancel(),
      httpAgent,
      httpsAgent,
      ...overrides,
    });

  it('sends the query as axios encoded it, so OData filters reach the ERP unchanged', async () => {
    const query = {
      $filter: "externalDocumentNumber eq 'ER-1/2, a:b & c'",
      $top: 5,
      flag: true,
      empty: null,
      left: undefined,
    };
    await call({ path: '/purchaseOrders', query });
    const axiosUri = axios.getUri({ baseURL: baseUrl, url: '/purchaseOrders', params: query });
    expect(`http://${seen[0].headers.host}${seen[0].url}`).toBe(axiosUri);
    expect(seen[0].url).toBe(
      "/api/v2.0/purchaseOrders?$filter=externalDocumentNumber+eq+'ER-1%2F2,+a:b+%26+c'&$top=5&flag=true",
    );
  });

  it('sends an object as JSON with its length, one spelling per header, and parses a JSON answer', async () => {
    const result = await call({
      method: 'POST',
      body: { amount: '12.30', text: 'Café' },
      headers: { Accept: 'text/plain', accept: 'application/json', 'X-Correlation-Id': 'c-1' },
    });
    expect(result).toEqual({
      status: 200,
      data: { ok: true },
      headers: expect.objectContaining({ 'content-type': 'application/json' }),
    });
    expect(seen[0].body).toBe('{"amount":"12.30","text":"Café"}');
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(Number(seen[0].headers['content-length'])).toBe(Buffer.byteLength(seen[0].body));
    expect(seen[0].headers.accept).toBe('application/json');
    expect(seen[0].headers['x-correlation-id']).toBe('c-1');
    expect(seen[0].headers['accept-encoding']).toBe('gzip, deflate, br');
  });

  it.each([
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['br', zlib.brotliCompressSync],
  ])('decompresses a %s answer and drops its content-encoding', async (encoding, compress) => {
    answer = {
      status: 200,
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      body: compress(Buffer.from('{"value":[{"number":"PO-1"}]}')),
    };
    const result = await call();
    expect(result.data).toEqual({ value: [{ number: 'PO-1' }] });
    expect(result.headers['content-encoding']).toBeUndefined();
  });

  it('returns text that is not JSON as text, an empty body as "", and drops a BOM', async () => {
    answer = { status: 502, headers: { 'content-type': 'text/html' }, body: Buffer.from('<h1>Bad gateway</h1>') };
    expect(await call()).toMatchObject({ status: 502, data: '<h1>Bad gateway</h1>' });
    answer = { status: 204, headers: { 'content-encoding': 'gzip' }, body: Buffer.alloc(0) };
    expect(await call({ method: 'DELETE' })).toMatchObject({ status: 204, data: '' });
    answer = { status: 200, headers: {}, body: Buffer.from('\ufeff{"a":1}') };
    expect((await call()).data).toEqual({ a: 1 });
  });

  it('does not follow a redirect: the answer is the 3xx itself', async () => {
    answer = { status: 302, headers: { location: 'http://elsewhere.example/' }, body: Buffer.alloc(0) };
    expect(await call()).toMatchObject({ status: 302, headers: { location: 'http://elsewhere.example/' } });
    expect(seen).toHaveLength(1);
  });

  it('reaches an ERP by an IPv6 address', async () => {
    const v6 = http.createServer((_request, response) => response.end('{"v6":true}'));
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    try {
      const result = await call({ baseUrl: `http://[::1]:${(v6.address() as AddressInfo).port}/` });
      expect(result.data).toEqual({ v6: true });
    } finally {
      v6.closeAllConnections();
      await new Promise((resolve) => v6.close(resolve));
    }
  });

  it('rejects with the reason it was cancelled for, before or during the exchange', async () => {
    const early = new ExchangeCancel();
    early.cancel(new Error('closed before sending'));
    await expect(call({ cancel: early })).rejects.toThrow('closed before sending');
    expect(seen).toHaveLength(0);

    // The server holds this answer back; the cancel ends the exchange while it waits.
    answer = { ...answer, delayMs: 5_000 };
    const during = new ExchangeCancel();
    const pending = call({ cancel: during });
    await waitUntilSeen(1);
    during.cancel(Object.assign(new Error('deadline'), { code: 'ETIMEDOUT' }));
    await expect(pending).rejects.toMatchObject({ message: 'deadline', code: 'ETIMEDOUT' });
    during.cancel(new Error('again')); // a second cancel changes nothing
  });

  it('rejects with the socket code when nothing listens', async () => {
    await expect(call({ baseUrl: 'http://127.0.0.1:1/' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  describe('an answer that cannot be read rejects, naming the status, and never throws out of the stream', () => {
    it('stops reading a plain answer above the size limit', async () => {
      answer = { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.alloc(64 * 1024, 0x20) };
      const error = await call({ maxAnswerBytes: 16 * 1024 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnreadableAnswerError);
      expect(error).toMatchObject({ status: 200, kind: 'too-large', code: 'ANSWER_TOO_LARGE', limitBytes: 16 * 1024 });
      // The connection is still usable for the next exchange (the half-read socket was not pooled).
      answer = { status: 200, headers: {}, body: Buffer.from('{"after":1}') };
      expect((await call()).data).toEqual({ after: 1 });
    });

    it('counts decompressed bytes, so a small gzip bomb hits the default limit', async () => {
      // 60 gzip members of 1 MB each (a valid gzip stream): about 60 KB on the wire, 60 MB once inflated.
      const member = zlib.gzipSync(Buffer.alloc(1024 * 1024, 0x61), { level: 9 });
      const bomb = Buffer.concat(Array.from({ length: 60 }, () => member));
      answer = { status: 201, headers: { 'content-encoding': 'gzip' }, body: bomb };
      await expect(call({ method: 'POST', body: {} })).rejects.toMatchObject({
        status: 201,
        kind: 'too-large',
        limitBytes: MAX_ANSWER_BYTES,
      });
    });

    it.each([
      ['not gzip at all', 200, Buffer.from('not gzip at all'), 'Z_DATA_ERROR'],
      [
        'cut short',
        201,
        zlib.gzipSync(Buffer.from(`{"id":"x","pad":"${'y'.repeat(1000)}"}`)).subarray(0, -10),
        'Z_BUF_ERROR',
      ],
    ])('keeps the status of a gzip body that is %s', async (_what, status, body, code) => {
      answer = { status, headers: { 'content-encoding': 'gzip' }, body };
      await expect(call({ method: 'POST', body: {} })).rejects.toMatchObject({ status, kind: 'undecodable', code });
    });

    it('rejects when the body cannot be turned into text (ERR_STRING_TOO_LONG past ~512 MB)', async () => {
      const toString = Buffer.prototype.toString;
      const marker = 12_345;
      // Only the answer of this test has this length; everything else converts as usual.
      const spy = jest.spyOn(Buffer.prototype, 'toString').mockImplementation(function (this: Buffer, ...args) {
        if (this.length === marker) {
          throw Object.assign(new Error('Cannot create a string longer than 0x1fffffe8 characters'), {
            code: 'ERR_STRING_TOO_LONG',
          });
        }
        return toString.apply(this, args as Parameters<Buffer['toString']>);
      });
      try {
        answer = { status: 200, headers: {}, body: Buffer.alloc(marker, 0x61) };
        await expect(call()).rejects.toMatchObject({ status: 200, kind: 'undecodable', code: 'ERR_STRING_TOO_LONG' });
      } finally {
        spy.mockRestore();
      }
    });
  });
});
