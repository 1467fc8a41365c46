/** The sandbox ERP: start it in-process with `startSandbox`, or run `finance-sandbox` (cli.ts). */
export { startSandbox, type SandboxHandle, type SandboxOptions } from './server';
export type { AuthOptions } from './auth';
export type { FaultConfig } from './faults';
export { SandboxState } from './state';
export type {
  BudgetLine,
  Company,
  Counters,
  PostingDoc,
  PostingLine,
  PurchaseOrderDoc,
  SandboxResponse,
  Writeback,
} from './types';
