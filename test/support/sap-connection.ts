/** The finance-erp fields of an SAP S/4HANA connection to the sandbox's SAP simulator (company code FS01 = FS-DEMO). */
export const SAP_E2E_CONNECTION = {
  dialect: 'sap',
  company: 'FS01',
  sapClient: '100',
  sapPurchasingOrganization: '1010',
  sapPurchasingGroup: '001',
  sapPlant: '1010',
  sapMaterialGroup: 'L001',
  authType: 'basic',
} as const;

/** A communication user: the simulator accepts basic authentication as sent. */
export const SAP_E2E_CREDENTIALS = { username: 'COMM_USER', password: 'comm-user-password' };
