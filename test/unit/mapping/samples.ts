/**
 * Source documents for the mapping tests: the Concur report sample of the saved v4 spec (read from
 * ../shared/specs, never copied), expenses shaped like the v3.0 Entries API's EntryGet, and a canonical
 * expense report of the sandbox demo company.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SPECS_DIR } from '../../support/shared';

export type Json = Record<string, any>;

/** The response of "Retrieve a Report by ID" in v4.reports.markdown (USD 525.00 claimed, status A_NOTF). */
export function concurSampleReport(): Json {
  const markdown = fs.readFileSync(path.join(SPECS_DIR, 'concur', 'v4.reports.markdown'), 'utf8');
  const block = /200 OK\n\n(\{[\s\S]*?\n\})\n```/.exec(markdown);
  if (!block) throw new Error('report sample not found in v4.reports.markdown');
  return JSON.parse(block[1]) as Json;
}

/** The sample report's expenses as one complete EntryCollection: 400.00 + 125.00, and a personal 30.50. */
export function concurSampleEntries(reportId = '764428DD6A664AF0BFCB'): Json {
  const base = { ReportID: reportId, IsPersonal: false, HasExceptions: false };
  return {
    Items: [
      {
        ...base,
        ID: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hQ',
        ExpenseTypeCode: 'OFCSP',
        TransactionDate: '2020-03-11T00:00:00',
        PostedAmount: 400,
        VendorDescription: 'Facility Cleaners Inc.',
        HasImage: true,
        Custom1: { Type: 'List', Code: 'CC-500', Value: 'Operations' },
      },
      {
        ...base,
        ID: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hR',
        ExpenseTypeCode: 'MISCS',
        TransactionDate: '2020-03-12',
        PostedAmount: 125,
        HasImage: false,
        Custom1: { Type: 'List', Code: 'CC-500', Value: 'Operations' },
      },
      {
        ...base,
        ID: 'gWqSc$sAw3vAGu6lgaJTdDOG4ukwS4MIg2hS',
        TransactionDate: '2020-03-13',
        PostedAmount: 30.5,
        IsPersonal: true,
      },
    ],
    NextPage: null,
  };
}

export const CONCUR_OPTIONS = {
  costCenterField: 'custom1',
  glAccountByExpenseType: { OFCSP: '6100', MISCS: '6600' },
  company: 'FS-DEMO',
};

/** A canonical expense report of FS-DEMO: two lines on CC-300 / 6010 (meals) in March 2026. */
export function canonicalReport(): Json {
  return {
    docType: 'ExpenseReport',
    sourceRef: { system: 'acme', id: 'ER-1001', version: 1 },
    reportId: 'ER-1001',
    employeeId: 'E1015',
    company: 'FS-DEMO',
    submittedAt: '2026-03-20T09:00:00Z',
    state: 'submitted',
    total: { amount: '270.00', currency: 'EUR' },
    lines: [
      {
        lineId: 'L1',
        date: '2026-03-10',
        amount: { amount: '150.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-300', glAccount: '6010' },
      },
      {
        lineId: 'L2',
        date: '2026-03-12',
        amount: { amount: '120.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-300', glAccount: '6010' },
      },
    ],
  };
}

/** The report as a structured CloudEvent. */
export function cloudEvent(data: Json = canonicalReport()): Json {
  return {
    specversion: '1.0',
    id: 'evt-ER-1001-1',
    source: 'urn:acme:expenses',
    type: 'com.acme.expense-report.submitted',
    time: '2026-03-20T09:00:01Z',
    datacontenttype: 'application/json',
    data,
  };
}
