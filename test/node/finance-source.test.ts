import { helper } from '../support/node-red';
import financeSource = require('../../nodes/finance-source/finance-source');
import type { FinanceSourceNode } from '../../nodes/shared/config-nodes';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';

/** What node.error() was called with (the helper makes Node.prototype.error a sinon spy). */
function errorsReported(node: FinanceSourceNode): string {
  return (node.error as unknown as { args: unknown[][] }).args.map((args) => String(args[0])).join('\n');
}

describe('finance-source config node', () => {
  let sandbox: SandboxHandle;
  beforeAll(async () => {
    sandbox = await startSandbox({
      port: 0,
      auth: { type: 'oauth2', clientId: 'ramp-writer', clientSecret: 'sandbox-client-secret' },
    });
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('reads its secrets from the credential store and the scheme from the profile', async () => {
    await helper.load(financeSource, [{ id: 'src', type: 'finance-source', name: 'Ramp', profile: 'ramp' }], {
      src: { secret: 'current-secret', previousSecret: 'previous-secret' },
    });
    const node = helper.getNode('src') as FinanceSourceNode;
    expect(node.profileName).toBe('ramp');
    expect(node.profile.name).toBe('ramp');
    expect(node.signatureScheme).toBe('ramp');
    expect(node.toleranceSeconds).toBe(300);
    expect(node.webhookSecrets()).toEqual(['current-secret', 'previous-secret']);
    // Callers get a copy: changing it cannot change what the node verifies with.
    node.webhookSecrets().push('injected');
    expect(node.webhookSecrets()).toHaveLength(2);
    expect(node.api()).toBeUndefined();
  });

  it('builds one API client with OAuth2 client credentials, usable for write-back and closed on close', async () => {
    await helper.load(
      financeSource,
      [
        {
          id: 'src',
          type: 'finance-source',
          profile: 'ramp',
          apiBaseUrl: sandbox.url,
          apiAuthType: 'oauth2',
          tokenUrl: `${sandbox.url}/oauth2/token`,
        },
      ],
      { src: { secret: 's', clientId: 'ramp-writer', clientSecret: 'sandbox-client-secret' } },
    );
    const node = helper.getNode('src') as FinanceSourceNode;
    const client = node.api()!;
    expect(node.api()).toBe(client);
    const response = await client.request<{ status?: string }>({
      method: 'POST',
      path: '/api/v1/writebacks',
      body: { system: 'ramp', documentId: 'R-1', status: 'posted' },
      correlationId: 'corr-src-1',
    });
    expect(response.status).toBe(200);
    expect(sandbox.state.writebacks).toEqual([
      expect.objectContaining({ system: 'ramp', documentId: 'R-1', status: 'posted' }),
    ]);
    const described = JSON.stringify(client.describe());
    expect(described).toContain('oauth2');
    expect(described).not.toContain('sandbox-client-secret');

    await helper.unload();
    await expect(client.request({ method: 'GET', path: '/api/v1/companies' })).rejects.toMatchObject({
      code: 'ERP_UNAVAILABLE',
    });
  });

  it('reports a bad setting by name at deploy, and every member then throws it', async () => {
    await helper.load(
      financeSource,
      [{ id: 'src', type: 'finance-source', profile: 'cloudevents', toleranceSeconds: '-5' }],
      {
        src: { secret: 's' },
      },
    );
    const node = helper.getNode('src') as FinanceSourceNode;
    expect(errorsReported(node)).toMatch(/Tolerance \(s\) must be a whole number from 1 to 86400/);
    const expected = { code: 'CONFIG_INVALID', details: { field: 'Tolerance (s)' } };
    expect(() => node.profile).toThrow(expect.objectContaining(expected));
    expect(() => node.webhookSecrets()).toThrow(expect.objectContaining(expected));
    expect(() => node.api()).toThrow(expect.objectContaining(expected));
  });

  it('asks for a webhook secret only when an intake wants the secrets, never revealing the other credentials', async () => {
    await helper.load(
      financeSource,
      [{ id: 'src', type: 'finance-source', profile: 'concur', apiBaseUrl: sandbox.url, apiAuthType: 'bearer' }],
      { src: { token: 'bearer-token-value' } },
    );
    const node = helper.getNode('src') as FinanceSourceNode;
    // Write-back (and polling) use the API alone: the source is usable for them without a webhook secret.
    expect(errorsReported(node)).toBe('');
    expect(node.signatureScheme).toBe('generic'); // Concur's own events come through a relay that re-signs them
    expect(node.api()).toBeDefined();
    let thrown: unknown;
    try {
      node.webhookSecrets();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/Webhook secret is empty/) });
    expect(JSON.stringify(thrown) + String((thrown as Error).message)).not.toContain('bearer-token-value');
  });
});
