import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErpClient } from '../../../lib/erp/client';
import { createConcurTarget } from '../../../lib/writeback/concur-target';
import type { WritebackRequest } from '../../../lib/writeback/target';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A stand-in for Concur's Expense Reports v4 PATCH: records each request and answers what the test queued. */
function concurStub() {
  const seen: Seen[] = [];
  const answers: Array<{ status: number; body?: unknown }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      });
      const answer = answers.shift() ?? { status: 204 };
      res.writeHead(answer.status, answer.body === undefined ? {} : { 'Content-Type': 'application/json' });
      res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
    });
  });
  return { server, seen, answers };
}

const USER = '32c2fcc3-b2e8-4907-9672-5b3f49b1c643';
const CORRELATION = '0b6c9a4e-2f51-4f3e-8d7a-5c1e9b2d4a60';

function request(overrides: Partial<WritebackRequest> = {}): WritebackRequest {
  return {
    outcome: {
      system: 'concur',
      documentId: '764428DD6A664AF0BFCB',
      status: 'posted',
      erpRef: { system: 'erp', dialect: 'sandbox', documentType: 'journal', documentId: 'd-1', number: 'JNL-000042' },
    },
    idempotencyKey: 'fs1-key',
    correlationId: CORRELATION,
    at: '2026-03-11T10:00:00.000Z',
    userId: USER,
    ...overrides,
  };
}

describe('Concur write-back target (Expense Reports v4 PATCH)', () => {
  const stub = concurStub();
  let api: ErpClient;

  beforeAll(async () => {
    await new Promise<void>((resolve) => stub.server.listen(0, '127.0.0.1', resolve));
    const { port } = stub.server.address() as AddressInfo;
    api = new ErpClient({
      name: 'concur',
      dialect: 'concur',
      baseUrl: `http://127.0.0.1:${port}`,
      auth: { type: 'bearer', token: 'company-token-123' },
    });
  });
  beforeEach(() => {
    stub.seen.length = 0;
    stub.answers.length = 0;
  });
  afterAll(async () => {
    api.close();
    await new Promise((resolve) => stub.server.close(resolve));
  });

  it('PATCHes the report of its owner with a JSON merge patch of custom fields and reportSource', async () => {
    const target = createConcurTarget(api, { numberField: 'custom15', statusField: 'custom16' });
    expect(await target.send(request())).toBe('sent');
    expect(stub.seen).toHaveLength(1);
    const [patch] = stub.seen;
    expect(patch.method).toBe('PATCH');
    expect(patch.url).toBe(`/expensereports/v4/users/${USER}/context/TRAVELER/reports/764428DD6A664AF0BFCB`);
    expect(patch.headers).toMatchObject({
      'content-type': expect.stringMatching(/^application\/json/),
      authorization: 'Bearer company-token-123',
      'concur-correlationid': CORRELATION,
      'idempotency-key': 'fs1-key',
    });
    expect(patch.body).toEqual({
      reportSource: 'OTHER',
      customData: [
        { id: 'custom15', value: 'JNL-000042' },
        { id: 'custom16', value: 'posted' },
      ],
    });
  });

  it('writes only the status field for a report that was not posted, and skips when there is no such field', async () => {
    const notPosted = request({ outcome: { system: 'concur', documentId: 'R1', status: 'rejected' } });
    await createConcurTarget(api, { numberField: 'custom15', statusField: 'custom16' }).send(notPosted);
    expect(stub.seen[0].body).toEqual({ reportSource: 'OTHER', customData: [{ id: 'custom16', value: 'rejected' }] });

    expect(await createConcurTarget(api, { numberField: 'custom15' }).send(notPosted)).toBe('skipped');
    expect(stub.seen).toHaveLength(1);
  });

  it('sends concur-correlationid only when the correlation id is a UUID, as Concur requires', async () => {
    await createConcurTarget(api, { numberField: 'custom15' }).send(request({ correlationId: 'not-a-uuid' }));
    expect(stub.seen[0].headers['concur-correlationid']).toBeUndefined();
    expect(stub.seen[0].headers['x-correlation-id']).toBe('not-a-uuid');
  });

  it("reports Concur's 400 ErrorMessage as a refusal with its body", async () => {
    stub.answers.push({
      status: 400,
      body: {
        errorId: 'INVALID_CUSTOM_FIELD',
        errorMessage: 'custom15 is not on the report form',
        httpStatus: '400 Bad Request',
      },
    });
    await expect(createConcurTarget(api, { numberField: 'custom15' }).send(request())).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 400,
      message: expect.stringContaining('custom15 is not on the report form'),
      details: { vendorCode: 'INVALID_CUSTOM_FIELD' },
    });
  });

  it('needs the owner user id and refuses values longer than a custom field holds, before sending', async () => {
    const target = createConcurTarget(api, { numberField: 'custom15' });
    await expect(target.send(request({ userId: undefined }))).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('userID'),
    });
    const long = request();
    long.outcome.erpRef!.number = 'N'.repeat(49);
    await expect(target.send(long)).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('48'),
    });
    expect(stub.seen).toHaveLength(0);
  });
});
