/**
 * A base URL that does not parse is echoed by the settings check ("Base URL "..." is not a URL"); the config
 * nodes log that text at deploy and hand it to every node using them. A pasted URL may carry credentials.
 */
import { helper } from '../../support/node-red';
import financeErp = require('../../../nodes/finance-erp/finance-erp');
import financeSource = require('../../../nodes/finance-source/finance-source');
import type { FinanceErpNode, FinanceSourceNode } from '../../../nodes/shared/config-nodes';
import { httpUrl } from '../../../lib/config/settings';

const SECRET = 'erp-Secret-9';
const BAD_URL = `https://ops:${SECRET}@erp.example.com:99999/api?api_key=k-0815`;

function logged(): string {
  return JSON.stringify((helper.log() as { args: unknown[][] }).args);
}

describe('config nodes with a base URL that holds credentials and does not parse', () => {
  afterEach(async () => {
    await helper.unload();
  });

  it('finance-erp reports the bad setting without the credentials', async () => {
    await helper.load(financeErp, [{ id: 'erp', type: 'finance-erp', dialect: 'sandbox', baseUrl: BAD_URL }]);
    const node = helper.getNode('erp') as FinanceErpNode;
    const failure = await node.connection().then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(failure?.message).toContain('Base URL');
    const everything = `${logged()} ${String(failure?.message)} ${String(failure?.stack)} ${JSON.stringify(failure)}`;
    expect(everything).toContain('is not usable');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('k-0815');
  });

  it('finance-source reports the bad setting without the credentials', async () => {
    await helper.load(financeSource, [
      { id: 'src', type: 'finance-source', profile: 'cloudevents', signatureScheme: 'none', apiBaseUrl: BAD_URL },
    ]);
    const node = helper.getNode('src') as FinanceSourceNode;
    let failure: Error | undefined;
    try {
      node.api();
    } catch (err) {
      failure = err as Error;
    }
    expect(failure).toMatchObject({ code: 'CONFIG_INVALID' });
    const everything = `${logged()} ${String(failure?.message)} ${String(failure?.stack)} ${JSON.stringify(failure)}`;
    expect(everything).toContain('is not usable');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('k-0815');
  });
});

describe('the base URL check', () => {
  it('says which URL does not parse without the credentials written in it', () => {
    expect(() => httpUrl('https://ops:pw-Secret-9@erp.example.com:99999/api?api_key=k-Secret-8', 'Base URL')).toThrow(
      /^Base URL "https:\/\/\[REDACTED\]@erp\.example\.com:99999\/api\?api_key=\[REDACTED\]" is not a URL/,
    );
  });
});
