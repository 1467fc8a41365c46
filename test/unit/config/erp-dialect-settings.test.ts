/** The finance-erp dialog fields of each ERP dialect, turned into the connection's options and auth. */
import { erpConnectionConfig, type ErpDialogSettings } from '../../../lib/config/erp-connection';
import { createDialect } from '../../../lib/erp/dialect';

const noHttp = { request: () => Promise.reject(new Error('no calls in this test')) };

function config(settings: ErpDialogSettings, credentials = {}) {
  return erpConnectionConfig(
    { baseUrl: 'https://api.businesscentral.dynamics.com', authType: 'none', ...settings },
    credentials,
  );
}

describe('finance-erp dialect settings', () => {
  it('Business Central: tenant and environment as options, Entra ID token URL and BC scope from the tenant', () => {
    const built = config(
      {
        dialect: 'business-central',
        company: 'CRONUS USA, Inc.',
        bcTenant: 'contoso.onmicrosoft.com',
        bcEnvironment: 'Production',
        bcReferenceApi: 'finsync/finance/v1.0',
        authType: 'oauth2',
      },
      { clientId: 'app', clientSecret: 'secret' },
    );
    expect(built.options).toEqual({
      tenant: 'contoso.onmicrosoft.com',
      environment: 'Production',
      referenceApi: 'finsync/finance/v1.0',
    });
    expect(built.auth).toEqual({
      type: 'oauth2',
      tokenUrl: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
      clientId: 'app',
      clientSecret: 'secret',
      scope: 'https://api.businesscentral.dynamics.com/.default',
    });
    // Against the sandbox's BC simulator the token comes from the same host.
    const sandbox = erpConnectionConfig(
      { dialect: 'business-central', company: 'FS-DEMO', bcTenant: 't1', bcEnvironment: 'Sandbox', authType: 'oauth2' },
      { clientId: 'a', clientSecret: 'b' },
      'http://127.0.0.1:8089',
    );
    expect(sandbox.auth).toMatchObject({ tokenUrl: 'http://127.0.0.1:8089/t1/oauth2/v2.0/token' });
    expect(() => createDialect(built.dialect, noHttp, built)).not.toThrow();
  });

  it('Business Central: the G/L budget name budget checks read, at most 10 characters, left out when empty', () => {
    const bc = { dialect: 'business-central', company: 'FS-DEMO', bcTenant: 't1', bcEnvironment: 'Production' };
    expect(config({ ...bc, bcBudgetName: ' 2026 ' }).options).toEqual({
      tenant: 't1',
      environment: 'Production',
      budgetName: '2026',
    });
    expect(config({ ...bc, bcBudgetName: '' }).options).toEqual({ tenant: 't1', environment: 'Production' });
    expect(() => config({ ...bc, bcBudgetName: 'BUDGET-2026-APPROVED' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { field: 'bcBudgetName' } }),
    );
  });

  it('SAP: company code, client, service path and organisational data; each wrong field named', () => {
    const settings = {
      dialect: 'sap',
      company: '1010',
      sapClient: '100',
      sapPurchasingOrganization: '1010',
      sapPurchasingGroup: '001',
      sapPlant: '1010',
      sapMaterialGroup: 'L001',
    };
    const built = config(settings);
    expect(built.options).toEqual({
      sapClient: '100',
      purchasingOrganization: '1010',
      purchasingGroup: '001',
      plant: '1010',
      materialGroup: 'L001',
    });
    expect(() => createDialect(built.dialect, noHttp, built)).not.toThrow();
    expect(() => config({ ...settings, company: 'FS-DEMO' })).toThrow(/at most 4 characters/);
    expect(() => config({ ...settings, sapClient: '1' })).toThrow(/three digits/);
    expect(() => config({ ...settings, sapPlant: '' })).toThrow(/Plant is empty/);
    expect(() => config({ ...settings, sapServicePath: 'sap/opu' })).toThrow(/must start with "\/"/);
    // The chart of accounts G/L accounts are read from: optional (the dialect's default is YCOA), 4 characters.
    expect(config({ ...settings, sapChartOfAccounts: 'CAUS' }).options).toMatchObject({ chartOfAccounts: 'CAUS' });
    expect(() => config({ ...settings, sapChartOfAccounts: 'TOOLONG' })).toThrow(/at most 4 characters/);
    // Organisational codes have the MaxLength of their field in the purchase order service, as the dialog says.
    for (const [field, tooLong] of [
      ['sapPurchasingOrganization', '10100'],
      ['sapPurchasingGroup', '0010'],
      ['sapPlant', '10100'],
      ['sapMaterialGroup', 'L00100000X'],
      ['sapPlant', '10 1'],
    ]) {
      expect(() => config({ ...settings, [field]: tooLong })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', details: { field } }),
      );
    }
    expect(config({ ...settings, sapMaterialGroup: 'L00100000' }).options).toMatchObject({
      materialGroup: 'L00100000',
    });
  });

  it('ERPNext: Frappe API key and secret as Authorization: token key:secret; site, reference field and payable account', () => {
    const built = config(
      {
        dialect: 'erpnext',
        company: 'FS-DEMO',
        erpnextSite: 'erp.example.com',
        erpnextPayableAccount: '2910',
        erpnextEmployeeField: 'custom_employee_id',
        authType: 'frappeToken',
      },
      { apiKey: 'k1', apiSecret: 's1' },
    );
    expect(built.auth).toEqual({ type: 'apiKey', headerName: 'Authorization', apiKey: 'token k1:s1' });
    expect(built.options).toEqual({
      site: 'erp.example.com',
      payableAccount: '2910',
      employeeField: 'custom_employee_id',
    });
    expect(() => config({ dialect: 'erpnext', company: 'FS-DEMO', erpnextEmployeeField: 'Employee' })).toThrow(
      /Employee field on Supplier "Employee" must be a field name/,
    );
    expect(() => config({ dialect: 'erpnext', company: 'FS-DEMO', authType: 'frappeToken' }, { apiKey: 'k1' })).toThrow(
      /API secret is empty/,
    );
    expect(() => config({ dialect: 'erpnext', company: 'FS-DEMO', erpnextReferenceField: 'External Ref' })).toThrow(
      /field name/,
    );
  });

  it('names a missing tenant, environment or company, and an unknown dialect', () => {
    expect(() => config({ dialect: 'business-central', company: 'C', bcEnvironment: 'Production' })).toThrow(
      /Tenant is empty/,
    );
    expect(() => config({ dialect: 'business-central', company: 'C', bcTenant: 't' })).toThrow(/Environment is empty/);
    expect(() => config({ dialect: 'erpnext' })).toThrow(/Company is empty/);
    const netsuite = config({ dialect: 'netsuite' });
    expect(() => createDialect(netsuite.dialect, noHttp, netsuite)).toThrow(
      /choose one of: sandbox, business-central, sap, erpnext/,
    );
    expect(config({ dialect: 'sandbox' }).options).toBeUndefined();
  });
});
