/**
 * SAP writes after a 403: only Gateway's "CSRF token required" (403 with `x-csrf-token: Required`) fetches the token
 * again and repeats the write; a 403 without that header is a refusal of authorization, reported at once.
 * Over real HTTP through ErpClient, which keeps the answer header the SAP service asks for.
 */
import type http from 'node:http';
import { ErpClient, type ErpHttp, type ErpRequest, type ErpResponse } from '../../../lib/erp/client';
import { SapService } from '../../../lib/erp/sap/service';
import { FinanceError } from '../../../lib/errors';
import { sendJson, startServer, type TestServer, failure } from './helpers';

const SERVICE = '/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV';
const WRITE = { method: 'POST' as const, path: `${SERVICE}/A_PurchaseOrder`, body: { CompanyCode: '1010' } };
const ctx = { correlationId: 'sap-403' };

let server: TestServer;
/** How the ERP answers each write, in turn; a write beyond the list is created. */
let writeAnswers: Array<(res: http.ServerResponse) => void>;
let fetches: number;
let writes: { token?: string; cookie?: string }[];
const clients: ErpClient[] = [];

beforeAll(async () => {
  server = await startServer((req, res) => {
    if (req.method === 'GET') {
      fetches += 1;
      res.writeHead(200, {
        'x-csrf-token': `token-${fetches}`,
        'Set-Cookie': `SAP_SESSIONID_S4H_100=session-${fetches}; path=/; HttpOnly`,
      });
      res.end();
      return;
    }
    writes.push({ token: req.headers['x-csrf-token'] as string | undefined, cookie: req.headers.cookie });
    const answer = writeAnswers[writes.length - 1];
    if (answer) answer(res);
    else sendJson(res, 201, { d: { PurchaseOrder: '4500000001' } });
  });
});
beforeEach(() => {
  writeAnswers = [];
  fetches = 0;
  writes = [];
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(() => server.close());

function service(http?: ErpHttp): SapService {
  const client = new ErpClient({
    name: 's4',
    dialect: 'sap',
    baseUrl: server.url,
    auth: { type: 'basic', username: 'COMM_USER', password: 'pw' },
    circuitBreaker: null,
  });
  clients.push(client);
  return new SapService({ http: http ?? client, system: 's4', path: SERVICE, scenario: 'SAP_COM_0053' });
}

/** Gateway's answer to a write with an expired or unknown CSRF token [SAP Gateway CSRF protection]. */
const csrfRequired =
  (value = 'Required') =>
  (res: http.ServerResponse) => {
    res.writeHead(403, { 'x-csrf-token': value, 'Content-Type': 'text/plain' });
    res.end('CSRF token validation failed');
  };

/** A 403 for a missing authorization: no CSRF header, an OData error body. */
function notAuthorized(res: http.ServerResponse): void {
  sendJson(res, 403, {
    error: { code: '/IWFND/CM_CONSUMER/004', message: { value: 'No authorization for this service' } },
  });
}

describe('SAP write after a 403', () => {
  it.each(['Required', 'required'])(
    'fetches the token once more and repeats the write once after 403 with x-csrf-token: %s',
    async (value) => {
      writeAnswers = [csrfRequired(value)];
      const response = await service().write(WRITE, ctx);
      expect(response.status).toBe(201);
      expect(fetches).toBe(2);
      expect(writes).toEqual([
        { token: 'token-1', cookie: 'SAP_SESSIONID_S4H_100=session-1' },
        { token: 'token-2', cookie: 'SAP_SESSIONID_S4H_100=session-2' },
      ]);
    },
  );

  it('reports a 403 without x-csrf-token: Required at once as a refusal of authorization, without repeating', async () => {
    writeAnswers = [notAuthorized];
    const error = await failure(service().write(WRITE, ctx));
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', httpStatus: 403, retryable: false });
    expect(error.message).toContain('No authorization for this service');
    expect(error.message).toContain('permission');
    expect(fetches).toBe(1);
    expect(writes).toHaveLength(1);
  });

  it('repeats only once: a second "CSRF token required" is passed on', async () => {
    writeAnswers = [csrfRequired(), csrfRequired()];
    const error = await failure(service().write(WRITE, ctx));
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', httpStatus: 403 });
    expect(fetches).toBe(2);
    expect(writes).toHaveLength(2);
  });

  it('keeps the token it has after an authorization 403: the next write fetches none', async () => {
    writeAnswers = [notAuthorized];
    const sap = service();
    await failure(sap.write(WRITE, ctx));
    await sap.write(WRITE, ctx);
    expect(fetches).toBe(1);
    expect(writes.map((write) => write.token)).toEqual(['token-1', 'token-1']);
  });
});

describe('ErpClient: answer headers kept in an error', () => {
  function erp(): ErpClient {
    const client = new ErpClient({ name: 'erp', dialect: 'sap', baseUrl: server.url, auth: { type: 'none' } });
    clients.push(client);
    return client;
  }

  it('keeps only the answer headers the request named, under details.answerHeaders', async () => {
    writeAnswers = [
      (res) => {
        res.writeHead(403, { 'x-csrf-token': 'Required', 'Set-Cookie': 'SAP_SESSIONID_S4H_100=secret-session' });
        res.end();
      },
    ];
    const error = await failure(erp().request({ ...WRITE, keepAnswerHeaders: ['X-CSRF-Token'] }));
    expect(error.details?.answerHeaders).toEqual({ 'x-csrf-token': 'Required' });
    expect(JSON.stringify(error)).not.toContain('secret-session');
  });

  it('keeps none when the request names none', async () => {
    writeAnswers = [csrfRequired()];
    const error = await failure(erp().request(WRITE));
    expect(error.details).not.toHaveProperty('answerHeaders');
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', httpStatus: 403 });
  });
});

describe('SAP write over a stub transport', () => {
  /** Answers the token fetch, and refuses the first write with the FinanceError it is given. */
  class RefusingOnce implements ErpHttp {
    readonly requests: ErpRequest[] = [];
    constructor(private refusal: FinanceError | undefined) {}

    request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
      this.requests.push(request);
      if (request.method !== 'GET' && this.refusal) {
        const refusal = this.refusal;
        this.refusal = undefined;
        return Promise.reject(refusal);
      }
      const headers: Record<string, string> = request.method === 'GET' ? { 'x-csrf-token': 'stub-token' } : {};
      return Promise.resolve({ status: 200, data: {} as T, headers, durationMs: 1 });
    }
  }

  const refusal = (details: Record<string, unknown>) =>
    new FinanceError('ERP_AUTH_FAILED', 'ERP "s4" answered 403 to POST', { httpStatus: 403, details });

  it('repeats when the stub gives the header as the client does, and asks the client to keep it', async () => {
    const stub = new RefusingOnce(refusal({ answerHeaders: { 'x-csrf-token': 'Required' } }));
    await service(stub).write(WRITE, ctx);
    const writesSent = stub.requests.filter((request) => request.method === 'POST');
    expect(writesSent).toHaveLength(2);
    expect(writesSent[0].keepAnswerHeaders).toEqual(['x-csrf-token']);
  });

  it('does not repeat a 403 whose details carry no CSRF header', async () => {
    const stub = new RefusingOnce(refusal({}));
    await failure(service(stub).write(WRITE, ctx));
    expect(stub.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
  });
});
