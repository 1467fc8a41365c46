/**
 * The `finance-erp` dialog fields that only one ERP dialect needs, turned into the connection's `options` and,
 * where the ERP fixes them, its authentication defaults:
 * - Business Central: tenant and environment (the URL is {base}/v2.0/{tenant}/{environment}/api/v2.0); the
 *   OAuth2 token URL and scope of Entra ID follow from the tenant when left empty; the custom API page that
 *   carries the external reference, when installed; the G/L budget name budget checks read;
 * - SAP S/4HANA: the SAP client, the service path and the organisational data a purchase order needs;
 * - ERPNext: the site name for multi-site benches, the Custom Field holding the reference, the payable account
 *   that expense journals credit; API key and secret sent as `Authorization: token key:secret`.
 * Checked once at deploy, naming the field and what to enter.
 */
import { FinanceError } from '../errors';
import { optionalText, requiredText } from './settings';

export const ERP_DIALECTS = ['sandbox', 'business-central', 'sap', 'erpnext'] as const;
export type ErpDialectName = (typeof ERP_DIALECTS)[number];

export interface DialectDialogSettings {
  dialect?: string;
  company?: string;
  baseUrl?: string;
  bcTenant?: string;
  bcEnvironment?: string;
  bcReferenceApi?: string;
  /** The G/L budget name budget checks read; empty: the company's only one. */
  bcBudgetName?: string;
  sapClient?: string;
  sapServicePath?: string;
  sapPurchasingOrganization?: string;
  sapPurchasingGroup?: string;
  sapPlant?: string;
  sapMaterialGroup?: string;
  /** Chart of accounts the G/L accounts are read from (master data); default YCOA. */
  sapChartOfAccounts?: string;
  erpnextSite?: string;
  erpnextReferenceField?: string;
  erpnextPayableAccount?: string;
  erpnextEmployeeField?: string;
}

/** Entra ID's token endpoint and Business Central's scope [D Microsoft identity platform, BC web services]. */
export const BC_SCOPE = 'https://api.businesscentral.dynamics.com/.default';
export const BC_API_HOST = 'api.businesscentral.dynamics.com';

/**
 * The dialect name as entered (default sandbox). It is not checked here: the same settings reader labels
 * source-system API connections with their profile name; createDialect refuses an unknown ERP dialect.
 */
export function dialectName(value: unknown): string {
  return optionalText(value) ?? 'sandbox';
}

function need(value: unknown, field: string, hint: string): string {
  return requiredText(value, field, hint);
}

/**
 * A required SAP organisational code: one word of at most `maxLength` characters, the MaxLength of its field in
 * API_PURCHASEORDER_PROCESS_SRV, so a hand-edited flow is refused at deploy as the dialog refuses it, not by SAP on
 * the first purchase order.
 */
function sapCode(value: unknown, field: string, settingName: string, maxLength: number, hint: string): string {
  const code = need(value, field, hint);
  if (code.length > maxLength || /\s/.test(code)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `${field} "${code}" must be one word of at most ${maxLength} characters, as SAP keeps it; ${hint}.`,
      { details: { field: settingName } },
    );
  }
  return code;
}

/** The dialect's options; throws CONFIG_INVALID naming the first missing or wrong field. */
export function dialectOptions(settings: DialectDialogSettings): Record<string, string> | undefined {
  const dialect = dialectName(settings.dialect) as ErpDialectName;
  switch (dialect) {
    case 'business-central': {
      need(settings.company, 'Company', 'enter the Business Central company name (as BC shows it) or its id');
      const referenceApi = optionalText(settings.bcReferenceApi);
      if (referenceApi !== undefined && !/^[\w-]+\/[\w-]+\/v\d+\.\d+$/.test(referenceApi)) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `Reference API page "${referenceApi}" must be <publisher>/<group>/<version>, e.g. finsync/finance/v1.0 (see the help).`,
          { details: { field: 'bcReferenceApi' } },
        );
      }
      const budgetName = optionalText(settings.bcBudgetName);
      if (budgetName !== undefined && budgetName.length > 10) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `Budget name "${budgetName}" is longer than a Business Central G/L budget name (at most 10 characters, as the G/L Budgets page shows it, e.g. 2026).`,
          { details: { field: 'bcBudgetName' } },
        );
      }
      return {
        tenant: need(
          settings.bcTenant,
          'Tenant',
          'enter the Entra ID tenant id or domain, e.g. contoso.onmicrosoft.com',
        ),
        environment: need(
          settings.bcEnvironment,
          'Environment',
          'enter the BC environment name, e.g. Production or Sandbox',
        ),
        ...(referenceApi ? { referenceApi } : {}),
        ...(budgetName ? { budgetName } : {}),
      };
    }
    case 'sap': {
      const company = need(settings.company, 'Company', 'enter the SAP company code (4 characters), e.g. 1010');
      if (company.length > 4) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `Company "${company}" is not an SAP company code (at most 4 characters).`,
          {
            details: { field: 'company' },
          },
        );
      }
      const client = optionalText(settings.sapClient);
      if (client !== undefined && !/^\d{3}$/.test(client)) {
        throw new FinanceError('CONFIG_INVALID', `SAP client "${client}" must be three digits, e.g. 100.`, {
          details: { field: 'sapClient' },
        });
      }
      const servicePath = optionalText(settings.sapServicePath);
      if (servicePath !== undefined && !servicePath.startsWith('/')) {
        throw new FinanceError(
          'CONFIG_INVALID',
          'Service path must start with "/", e.g. /sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV.',
          {
            details: { field: 'sapServicePath' },
          },
        );
      }
      const chart = optionalText(settings.sapChartOfAccounts);
      if (chart !== undefined && !/^\S{1,4}$/.test(chart)) {
        throw new FinanceError('CONFIG_INVALID', `Chart of accounts "${chart}" has at most 4 characters, e.g. YCOA.`, {
          details: { field: 'sapChartOfAccounts' },
        });
      }
      return {
        ...(client ? { sapClient: client } : {}),
        ...(servicePath ? { servicePath } : {}),
        ...(chart ? { chartOfAccounts: chart } : {}),
        purchasingOrganization: sapCode(
          settings.sapPurchasingOrganization,
          'Purchasing organisation',
          'sapPurchasingOrganization',
          4,
          'enter the purchasing organisation, e.g. 1010',
        ),
        purchasingGroup: sapCode(
          settings.sapPurchasingGroup,
          'Purchasing group',
          'sapPurchasingGroup',
          3,
          'enter the purchasing group, e.g. 001',
        ),
        plant: sapCode(
          settings.sapPlant,
          'Plant',
          'sapPlant',
          4,
          'enter the plant the items are ordered for, e.g. 1010',
        ),
        materialGroup: sapCode(
          settings.sapMaterialGroup,
          'Material group',
          'sapMaterialGroup',
          9,
          'enter the material group for items without a material, e.g. L001',
        ),
      };
    }
    case 'erpnext': {
      need(settings.company, 'Company', 'enter the ERPNext Company name');
      const referenceField = optionalText(settings.erpnextReferenceField);
      if (referenceField !== undefined && !/^[a-z][a-z0-9_]*$/.test(referenceField)) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `Reference field "${referenceField}" must be a field name such as custom_external_ref.`,
          {
            details: { field: 'erpnextReferenceField' },
          },
        );
      }
      const employeeField = optionalText(settings.erpnextEmployeeField);
      if (employeeField !== undefined && !/^[a-z][a-z0-9_]*$/.test(employeeField)) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `Employee field on Supplier "${employeeField}" must be a field name such as custom_employee.`,
          { details: { field: 'erpnextEmployeeField' } },
        );
      }
      const site = optionalText(settings.erpnextSite);
      const payable = optionalText(settings.erpnextPayableAccount);
      return {
        ...(site ? { site } : {}),
        ...(referenceField ? { referenceField } : {}),
        ...(payable ? { payableAccount: payable } : {}),
        ...(employeeField ? { employeeField } : {}),
      };
    }
    default:
      // The sandbox, and source-system API connections that reuse these settings, take no options.
      return undefined;
  }
}

/**
 * Entra ID's token URL for a Business Central tenant: Microsoft's login host for the BC cloud API, the base URL's
 * own host otherwise (the sandbox's BC simulator, a test proxy).
 */
export function businessCentralTokenUrl(baseUrl: string, tenant: string): string {
  const url = new URL(baseUrl);
  const origin = url.hostname === BC_API_HOST ? 'https://login.microsoftonline.com' : url.origin;
  return `${origin}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
}
