import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { forgetDormantOwnEndpoints, openOwnEndpoint, type EndpointHandler } from '../../../lib/intake/own-listener';
import { freePort } from '../../support/processes';

const HOST = '127.0.0.1';

/** Answers 202 with the body it read, or the code of the error reading it ended with. */
const echo: EndpointHandler = (_request, response, rawBody) => {
  rawBody.then(
    (body) => {
      response.statusCode = 202;
      response.end(body);
    },
    (err: { code?: string }) => {
      response.statusCode = 413;
      response.end(String(err.code));
    },
  );
};

describe('openOwnEndpoint', () => {
  const closers: Array<(removed?: boolean) => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  async function open(port: number, path: string, handler: EndpointHandler = echo, maxBytes = 1024) {
    const close = await openOwnEndpoint({ host: HOST, port, path, maxBytes, handler });
    closers.push(close);
    return close;
  }

  it('hands the raw bytes of a POST to its path to the handler', async () => {
    const port = await freePort();
    await open(port, '/finance/events');
    const response = await fetch(`http://${HOST}:${port}/finance/events?x=1`, { method: 'POST', body: '{"a": 1 }' });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('{"a": 1 }');
  });

  it('answers 404 for another path and 405 with Allow for another method, as problems', async () => {
    const port = await freePort();
    await open(port, '/finance/events');
    const missing = await fetch(`http://${HOST}:${port}/other`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(await missing.json()).toMatchObject({ status: 404, detail: expect.stringContaining('/other') });
    const wrongMethod = await fetch(`http://${HOST}:${port}/finance/events`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
  });

  it('matches its path like a Node-RED route: in any letter case, with or without a trailing slash', async () => {
    const port = await freePort();
    await open(port, '/Finance/Expenses');
    for (const path of ['/Finance/Expenses', '/finance/expenses', '/FINANCE/EXPENSES/', '/finance/Expenses?x=1']) {
      const response = await fetch(`http://${HOST}:${port}${path}`, { method: 'POST', body: path });
      expect([path, response.status, await response.text()]).toEqual([path, 202, path]);
    }
  });

  it('refuses a second path that differs only in letter case or a trailing slash, naming the path taken', async () => {
    const port = await freePort();
    await open(port, '/finance/expenses');
    for (const path of ['/Finance/Expenses', '/finance/expenses/']) {
      const opening = openOwnEndpoint({ host: HOST, port, path, maxBytes: 10, handler: echo });
      // Closed after the test should it open after all, so a failure does not leave the port listening.
      opening.then(
        (close) => closers.push(close),
        () => undefined,
      );
      await expect(opening).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('already receives POST /finance/expenses'),
      });
    }
  });

  it('answers 503 for a dormant path in any letter case, and a differently written path takes it over', async () => {
    const port = await freePort();
    const close = await open(port, '/kept');
    await close(false);
    expect((await fetch(`http://${HOST}:${port}/KEPT`, { method: 'POST', body: '{}' })).status).toBe(503);
    await open(port, '/Kept/');
    expect((await fetch(`http://${HOST}:${port}/kept`, { method: 'POST', body: 'k' })).status).toBe(202);
  });

  it('reads no more than the limit: a larger body reaches the handler as PAYLOAD_TOO_LARGE', async () => {
    const port = await freePort();
    await open(port, '/small', echo, 10);
    const response = await fetch(`http://${HOST}:${port}/small`, { method: 'POST', body: 'x'.repeat(11) });
    expect(response.status).toBe(413);
    expect(await response.text()).toBe('PAYLOAD_TOO_LARGE');
  });

  it('shares one port between paths, refuses a path taken twice, and stops listening with the last endpoint', async () => {
    const port = await freePort();
    const closeA = await open(port, '/a');
    const closeB = await open(port, '/b');
    await expect(openOwnEndpoint({ host: HOST, port, path: '/a', maxBytes: 10, handler: echo })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('already receives POST /a'),
    });
    expect((await fetch(`http://${HOST}:${port}/b`, { method: 'POST', body: 'b' })).status).toBe(202);
    await closeA();
    expect((await fetch(`http://${HOST}:${port}/a`, { method: 'POST', body: 'a' })).status).toBe(404);
    await closeB();
    await expect(fetch(`http://${HOST}:${port}/b`, { method: 'POST', body: 'b' })).rejects.toThrow();
    // The port is free again: a new endpoint can listen on it.
    await open(port, '/a');
    expect((await fetch(`http://${HOST}:${port}/a`, { method: 'POST', body: 'a' })).status).toBe(202);
  });

  it('keeps listening after a close that is not a removal, answering 503 + Retry-After until the path is opened again', async () => {
    const port = await freePort();
    const close = await open(port, '/kept');
    await close(false);
    const closed = await fetch(`http://${HOST}:${port}/kept`, { method: 'POST', body: '{}' });
    expect(closed.status).toBe(503);
    expect(closed.headers.get('content-type')).toBe('application/problem+json');
    expect(closed.headers.get('retry-after')).toBe('5');
    expect(await closed.json()).toMatchObject({ status: 503, code: 'STORE_UNAVAILABLE' });

    await open(port, '/kept');
    expect((await fetch(`http://${HOST}:${port}/kept`, { method: 'POST', body: 'k' })).status).toBe(202);
  });

  it("frees a dormant endpoint's port once its owner starts elsewhere, and on removal", async () => {
    const port = await freePort();
    const close = await openOwnEndpoint({ host: HOST, port, path: '/moved', maxBytes: 10, handler: echo, owner: 'n1' });
    await close(false);
    expect((await fetch(`http://${HOST}:${port}/moved`, { method: 'POST', body: 'x' })).status).toBe(503);
    await forgetDormantOwnEndpoints('n1');
    await expect(fetch(`http://${HOST}:${port}/moved`, { method: 'POST', body: 'x' })).rejects.toThrow();

    // Another path on the same port: the old one is forgotten (404), the server goes on.
    const old = await openOwnEndpoint({ host: HOST, port, path: '/moved', maxBytes: 10, handler: echo, owner: 'n1' });
    await old(false);
    closers.push(await openOwnEndpoint({ host: HOST, port, path: '/new', maxBytes: 10, handler: echo, owner: 'n1' }));
    expect((await fetch(`http://${HOST}:${port}/moved`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect((await fetch(`http://${HOST}:${port}/new`, { method: 'POST', body: 'x' })).status).toBe(202);
  });

  it('rejects with CONFIG_INVALID naming the port when another program holds it, and can try again later', async () => {
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen(0, HOST, resolve));
    const { port } = other.address() as AddressInfo;
    await expect(openOwnEndpoint({ host: HOST, port, path: '/a', maxBytes: 10, handler: echo })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining(`port ${port} on ${HOST} is already in use`),
    });
    await new Promise((resolve) => other.close(resolve));
    await open(port, '/a');
    expect((await fetch(`http://${HOST}:${port}/a`, { method: 'POST', body: 'a' })).status).toBe(202);
  });
});
