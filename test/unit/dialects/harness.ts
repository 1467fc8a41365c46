/**
 * A vendor dialect over real HTTP against the sandbox's simulator of that vendor: the in-process sandbox
 * (with OAuth2 where the vendor uses it), the pack's ErpClient, and a recorder of every exchange so the
 * metadata tests can check what the dialect sent and what the simulator answered.
 */
import {
  ErpClient,
  type ErpConnectionConfig,
  type ErpHttp,
  type ErpRequest,
  type ErpResponse,
} from '../../../lib/erp/client';
import { createDialect, type ErpDialect } from '../../../lib/erp/dialect';
import { startSandbox, type SandboxHandle, type SandboxOptions } from '../../../lib/sandbox/server';

export interface Exchange {
  request: ErpRequest;
  response?: ErpResponse<unknown>;
  error?: unknown;
}

export class RecordingHttp implements ErpHttp {
  readonly exchanges: Exchange[] = [];
  constructor(private readonly inner: ErpHttp) {}

  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    const exchange: Exchange = { request };
    this.exchanges.push(exchange);
    try {
      const response = await this.inner.request<T>(request);
      exchange.response = response as ErpResponse<unknown>;
      return response;
    } catch (error) {
      exchange.error = error;
      throw error;
    }
  }
}

export interface DialectRig {
  sandbox: SandboxHandle;
  client: ErpClient;
  http: RecordingHttp;
  dialect: ErpDialect;
  close(): Promise<void>;
}

export async function startDialectRig(
  connection: (sandboxUrl: string) => Omit<ErpConnectionConfig, 'baseUrl'> & { baseUrl?: string },
  sandboxOptions: SandboxOptions = {},
): Promise<DialectRig> {
  const sandbox = await startSandbox({ port: 0, ...sandboxOptions });
  const config = { baseUrl: sandbox.url, ...connection(sandbox.url) };
  const client = new ErpClient({ circuitBreaker: null, ...config });
  const http = new RecordingHttp(client);
  const dialect = createDialect(config.dialect, http, config);
  return {
    sandbox,
    client,
    http,
    dialect,
    close: async () => {
      client.close();
      await sandbox.close();
    },
  };
}

export const ctx = { correlationId: 'test-correlation' };

export function currentPeriod(): string {
  return new Date().toISOString().slice(0, 7);
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * Passes requests on, but answers the first that `matches` with its real status and `data` in place of its
 * body: a 2xx the dialect cannot read, after the ERP applied the request.
 */
export class UnreadableAnswer implements ErpHttp {
  used = false;
  constructor(
    private readonly inner: ErpHttp,
    private readonly matches: (request: ErpRequest) => boolean,
    private readonly data: unknown = {},
  ) {}

  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    const response = await this.inner.request<T>(request);
    if (this.used || !this.matches(request)) return response;
    this.used = true;
    return { ...response, data: this.data as T };
  }
}
