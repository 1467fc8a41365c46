/**
 * The SAP simulator's master data services: the filters and orderings the SAP dialect pages with ($orderby on
 * the key, `<key> gt '<last>'`, validity dates as `datetime'...'` literals) and time-dependent cost centers.
 */
import { sapStoreOf } from '../../../lib/sandbox/sap/api';
import { startTestSandbox, type TestSandbox } from './helpers';

const ROOT = '/sap/opu/odata/sap';
const BASIC = { authorization: `Basic ${Buffer.from('COMM_USER:comm-password').toString('base64')}` };

describe('SAP simulator master data: filters, $orderby, time-dependent cost centers', () => {
  let sandbox: TestSandbox;
  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });
  afterEach(() => sandbox.handle.close());

  async function get(path: string, query: Record<string, string>): Promise<Array<Record<string, unknown>>> {
    const reply = await sandbox.call('GET', `${ROOT}/${path}?${new URLSearchParams(query).toString()}`, {
      headers: BASIC,
    });
    expect(reply.status).toBe(200);
    return reply.body.d.results;
  }

  it('orders by $orderby and pages by key with gt', async () => {
    const ascending = await get('API_BUSINESS_PARTNER/A_Supplier', { $orderby: 'Supplier asc' });
    const ids = ascending.map((row) => String(row.Supplier));
    expect(ids).toEqual([...ids].sort());
    const descending = await get('API_BUSINESS_PARTNER/A_Supplier', { $orderby: 'Supplier desc' });
    expect(descending.map((row) => row.Supplier)).toEqual([...ids].reverse());
    const after = await get('API_BUSINESS_PARTNER/A_Supplier', {
      $orderby: 'Supplier asc',
      $filter: `Supplier gt '${ids[2]}'`,
      $top: '2',
    });
    expect(after.map((row) => row.Supplier)).toEqual(ids.slice(3, 5));
    const accounts = await get('API_GLACCOUNTINCHARTOFACCOUNTS_SRV/A_GLAccountInChartOfAccounts', {
      $filter: "ChartOfAccounts eq 'YCOA' and GLAccount gt '6000' and GLAccount le '6999'",
      $orderby: 'GLAccount',
    });
    expect(accounts.length).toBeGreaterThan(0);
    expect(accounts.every((row) => String(row.GLAccount) > '6000' && String(row.GLAccount) <= '6999')).toBe(true);
  });

  it('answers a cost center once per validity interval and filters them by datetime literals (UTC)', async () => {
    sapStoreOf(sandbox.handle.state).costCenterIntervals.set('CC-100', [
      { from: '2020-01-01', to: '2026-12-31', ownerId: 'E1001' },
      { from: '2027-01-01', to: '9999-12-31', ownerId: 'E1002', blocked: true },
    ]);
    const all = await get('API_COSTCENTER_SRV/A_CostCenter', {
      $filter: "CompanyCode eq 'FS01' and CostCenter eq 'CC-100'",
    });
    expect(all.map((row) => [row.CostCtrResponsibleUser, row.IsBlkdForPrimaryCostsPosting])).toEqual([
      ['E1001', ''],
      ['E1002', 'X'],
    ]);
    const validOn = (day: string) =>
      get('API_COSTCENTER_SRV/A_CostCenter', {
        $filter:
          `CompanyCode eq 'FS01' and CostCenter eq 'CC-100' and ValidityStartDate le datetime'${day}T00:00:00' ` +
          `and ValidityEndDate ge datetime'${day}T00:00:00'`,
      });
    expect((await validOn('2026-12-31')).map((row) => row.CostCtrResponsibleUser)).toEqual(['E1001']);
    expect((await validOn('2027-01-01')).map((row) => row.CostCtrResponsibleUser)).toEqual(['E1002']);
    expect(await validOn('2019-12-31')).toEqual([]);
    // Other cost centers: one interval 2000-01-01 to 9999-12-31.
    const others = await get('API_COSTCENTER_SRV/A_CostCenter', {
      $filter:
        "CompanyCode eq 'FS01' and CostCenter ne 'CC-100' and ValidityStartDate le datetime'2000-01-01T00:00:00'",
    });
    expect(others.length).toBeGreaterThan(0);
  });

  it('refuses a filter or ordering it does not understand with 400', async () => {
    const queries: Array<Record<string, string>> = [
      { $filter: "Supplier startswith 'S'" },
      { $orderby: 'Supplier sideways' },
    ];
    for (const query of queries) {
      const reply = await sandbox.call(
        'GET',
        `${ROOT}/API_BUSINESS_PARTNER/A_Supplier?${new URLSearchParams(query).toString()}`,
        { headers: BASIC },
      );
      expect(reply.status).toBe(400);
    }
  });
});
