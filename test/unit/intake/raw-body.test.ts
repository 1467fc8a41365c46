import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { FinanceError } from '../../../lib/errors';
import { readRawBody } from '../../../lib/intake/raw-body';

/** A loopback server that reads each body with a 16-byte limit (drain limit 64) and reports what happened. */
describe('readRawBody', () => {
  let server: http.Server;
  let port: number;
  const outcomes: Array<Promise<Buffer>> = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const reading = readRawBody(request, { maxBytes: 16, drainLimitBytes: 64 });
      outcomes.push(reading);
      reading.then(
        (body) => response.end(JSON.stringify({ body: body.toString() })),
        (err: unknown) => {
          if (!(err instanceof FinanceError)) return;
          if (err.details?.drained === false) response.setHeader('Connection', 'close');
          response.statusCode = 413;
          response.end(JSON.stringify({ code: err.code, drained: err.details?.drained }));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function post(
    chunks: string[],
    headers: Record<string, string | number> = {},
  ): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers }, (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) }));
      });
      request.on('error', reject);
      for (const chunk of chunks) request.write(chunk);
      request.end();
    });
  }

  it('returns the exact bytes of a body within the limit', async () => {
    expect(await post(['{"a": 1,', ' "b": 2}'])).toEqual({ status: 200, body: { body: '{"a": 1, "b": 2}' } });
  });

  it('reads an over-limit body to its end, keeping none of it, so the sender gets its 413', async () => {
    expect(await post(['x'.repeat(20), 'y'.repeat(20)])).toEqual({
      status: 413,
      body: { code: 'PAYLOAD_TOO_LARGE', drained: true },
    });
  });

  it('gives up at once when the declared length is beyond the drain limit', async () => {
    // The server answers before the body is sent and closes the connection; the sender may see a reset.
    await post(['x'.repeat(10)], { 'Content-Length': 1000 }).catch(() => undefined);
    await expect(outcomes[outcomes.length - 1]).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { drained: false },
    });
  });

  it('stops draining a chunked body at the drain limit', async () => {
    const chunks = Array.from({ length: 10 }, () => 'z'.repeat(10));
    await post(chunks).catch(() => undefined);
    await expect(outcomes[outcomes.length - 1]).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { drained: false },
    });
  });

  it('says "more than" when it stopped reading part-way, not the bytes it happened to read', async () => {
    const chunks = Array.from({ length: 10 }, () => 'z'.repeat(10));
    await post(chunks).catch(() => undefined);
    const error = (await outcomes[outcomes.length - 1].catch((err: unknown) => err)) as FinanceError;
    expect(error.message).toBe(
      'The body has more than 64 bytes; this endpoint accepts at most 16. Send one event per request.',
    );
    expect(error.details).toMatchObject({ sizeIsLowerBound: true });
  });

  it('names the exact size of a body it read to its end', async () => {
    await post(['x'.repeat(20), 'y'.repeat(20)]);
    await expect(outcomes[outcomes.length - 1]).rejects.toThrow(
      'The body has 40 bytes; this endpoint accepts at most 16. Send one event per request.',
    );
  });

  it('rejects with a plain error when the sender goes away mid-body', async () => {
    const request = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/',
      headers: { 'Content-Length': 12 },
    });
    request.on('error', () => undefined);
    const count = outcomes.length;
    request.write('abc');
    // Once the server has the request, the sender disappears.
    while (outcomes.length === count) await new Promise((resolve) => setTimeout(resolve, 5));
    request.destroy();
    const error = await outcomes[count].catch((err: unknown) => err);
    expect(error).toMatchObject({ message: expect.any(String) });
    expect(error).not.toBeInstanceOf(FinanceError);
  });

  it('takes the Buffer another middleware already read, and refuses a parsed body', async () => {
    const consumed = (body: unknown) => {
      const stream = new PassThrough();
      stream.end();
      stream.resume();
      return new Promise<http.IncomingMessage>((resolve) =>
        stream.on('end', () =>
          resolve(Object.assign(stream, { headers: {}, body }) as unknown as http.IncomingMessage),
        ),
      );
    };
    expect(await readRawBody(await consumed(Buffer.from('{}')), { maxBytes: 16 })).toEqual(Buffer.from('{}'));
    await expect(readRawBody(await consumed({ parsed: true }), { maxBytes: 16 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});
