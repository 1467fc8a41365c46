/**
 * Enrichment: the master data records a document refers to, read from the cache. The employee (expense
 * report) or requester (requisition) comes with their manager chain, each cost center with its owner, each
 * project and supplier with its status; GL accounts and tax codes as they are. A reference the cache does not
 * know is a miss: the message leaves through `not found` with each miss named.
 */
import { FinanceError } from '../errors';
import type { CostCenter, Employee, Project, Supplier } from '../model/types';
import type { MasterDataCache } from './cache';
import type { MasterDataKind, MasterRecord } from './kinds';

export interface Reference {
  kind: MasterDataKind;
  id: string;
  /** Where the document names it, as a JSON pointer, e.g. /lines/0/dimensions/costCenter. */
  path: string;
}

export interface Miss extends Reference {
  /** Why it counts as a miss, e.g. "not in the cache" or "manager of E1012 not in the cache". */
  reason: string;
}

/** msg.masterData: the records found, keyed by id within each kind. */
export interface Enrichment {
  employee?: Employee & { managerChain: Employee[] };
  supplier?: Supplier;
  costCenters: Record<string, CostCenter & { owner?: Employee }>;
  projects: Record<string, Project>;
  glAccounts: Record<string, MasterRecord>;
  taxCodes: Record<string, MasterRecord>;
}

export interface EnrichResult {
  masterData: Enrichment;
  notFound: Miss[];
}

/** The longest manager chain followed, so a loop or a very deep hierarchy cannot hang a message. */
const MAX_CHAIN = 25;

const DIMENSION_KINDS: Array<[string, MasterDataKind]> = [
  ['costCenter', 'costCenters'],
  ['project', 'projects'],
  ['glAccount', 'glAccounts'],
];

/** The references a canonical document (or a plain object with the same field names) carries. */
export function referencesOf(document: unknown): Reference[] {
  if (document === null || typeof document !== 'object') {
    throw new FinanceError(
      'SCHEMA_INVALID',
      'Enrichment needs a document in msg.payload (an expense report, requisition or purchase order).',
    );
  }
  const doc = document as Record<string, unknown>;
  const references: Reference[] = [];
  const add = (kind: MasterDataKind, id: unknown, path: string) => {
    if (typeof id === 'string' && id !== '') references.push({ kind, id, path });
  };
  add('employees', doc.employeeId, '/employeeId');
  add('employees', doc.requesterId, '/requesterId');
  add('suppliers', doc.supplierId, '/supplierId');
  addDimensions(doc, '', add);
  const lines = Array.isArray(doc.lines) ? (doc.lines as unknown[]) : [];
  lines.forEach((line, index) => {
    if (line === null || typeof line !== 'object') return;
    const at = `/lines/${index}`;
    const fields = line as Record<string, unknown>;
    add('taxCodes', fields.taxCode, `${at}/taxCode`);
    if (fields.dimensions && typeof fields.dimensions === 'object') {
      addDimensions(fields.dimensions as Record<string, unknown>, `${at}/dimensions`, add);
    }
    const assignments = Array.isArray(fields.accountAssignments) ? (fields.accountAssignments as unknown[]) : [];
    assignments.forEach((assignment, split) => {
      const dimensions = (assignment as { dimensions?: unknown } | null)?.dimensions;
      if (dimensions && typeof dimensions === 'object') {
        addDimensions(dimensions as Record<string, unknown>, `${at}/accountAssignments/${split}/dimensions`, add);
      }
    });
  });
  return references;
}

function addDimensions(
  dimensions: Record<string, unknown>,
  at: string,
  add: (kind: MasterDataKind, id: unknown, path: string) => void,
): void {
  for (const [field, kind] of DIMENSION_KINDS) add(kind, dimensions[field], `${at}/${field}`);
}

/** Looks every reference up in the cache; each record is read once however often the document names it. */
export async function enrich(
  cache: MasterDataCache,
  document: unknown,
  nowMs: number = Date.now(),
): Promise<EnrichResult> {
  const references = referencesOf(document);
  await requireFilled(cache, references, nowMs);
  const found = new Map<string, MasterRecord | undefined>();
  const lookup = async (kind: MasterDataKind, id: string) => {
    const key = `${kind}/${id}`;
    if (!found.has(key)) found.set(key, await cache.get(kind, id));
    return found.get(key);
  };
  const masterData: Enrichment = { costCenters: {}, projects: {}, glAccounts: {}, taxCodes: {} };
  const notFound: Miss[] = [];
  for (const reference of references) {
    const record = await lookup(reference.kind, reference.id);
    if (record === undefined) {
      notFound.push({ ...reference, reason: `${reference.kind} ${reference.id} is not in the master data cache` });
      continue;
    }
    switch (reference.kind) {
      case 'employees': {
        const chain = await managerChain(record as Employee, lookup, reference, notFound);
        masterData.employee = { ...(record as Employee), managerChain: chain };
        break;
      }
      case 'suppliers':
        masterData.supplier = record as Supplier;
        break;
      case 'costCenters': {
        const center = record as CostCenter;
        const owner = center.ownerId
          ? ((await lookup('employees', center.ownerId)) as Employee | undefined)
          : undefined;
        if (center.ownerId && owner === undefined) {
          notFound.push({
            kind: 'employees',
            id: center.ownerId,
            path: reference.path,
            reason: `owner ${center.ownerId} of cost center ${center.id} is not in the master data cache`,
          });
        }
        setById(masterData.costCenters, center.id, { ...center, ...(owner && { owner }) });
        break;
      }
      case 'projects':
        setById(masterData.projects, record.id, record as Project);
        break;
      case 'glAccounts':
        setById(masterData.glAccounts, record.id, record);
        break;
      case 'taxCodes':
        setById(masterData.taxCodes, record.id, record);
        break;
    }
  }
  return { masterData, notFound };
}

/** Keys a record by its id as an own member, also for the id "__proto__" (assigning it would set the prototype). */
function setById<T>(byId: Record<string, T>, id: string, record: T): void {
  Object.defineProperty(byId, id, { value: record, enumerable: true, writable: true, configurable: true });
}

async function managerChain(
  employee: Employee,
  lookup: (kind: MasterDataKind, id: string) => Promise<MasterRecord | undefined>,
  reference: Reference,
  notFound: Miss[],
): Promise<Employee[]> {
  const chain: Employee[] = [];
  const visited = new Set([employee.id]);
  let current = employee;
  while (current.managerId && chain.length < MAX_CHAIN) {
    if (visited.has(current.managerId)) break; // a loop in the data: the chain ends where it repeats
    visited.add(current.managerId);
    const manager = (await lookup('employees', current.managerId)) as Employee | undefined;
    if (manager === undefined) {
      notFound.push({
        kind: 'employees',
        id: current.managerId,
        path: reference.path,
        reason: `manager ${current.managerId} of ${current.id} is not in the master data cache`,
      });
      break;
    }
    chain.push(manager);
    current = manager;
  }
  return chain;
}

/**
 * A kind never synced is an empty cache, not a miss: every document would be routed to `not found`. A kind whose
 * scheduled syncs have stopped renewing it is refused too: enrichment has no owner to ask instead, and a manager
 * chain or approval limit from a copy that is days old would route approvals on data that may no longer hold.
 */
async function requireFilled(cache: MasterDataCache, references: Reference[], nowMs: number): Promise<void> {
  const kinds = [...new Set(references.map((reference) => reference.kind))];
  if (kinds.includes('costCenters') && !kinds.includes('employees')) kinds.push('employees');
  for (const kind of kinds) {
    const readiness = await cache.readiness(kind, nowMs);
    if (readiness === 'incomplete') {
      throw new FinanceError(
        'STORE_UNAVAILABLE',
        `The master data cache "${cache.name}" has no complete copy of ${kind} yet, so the document cannot be ` +
          'enriched. Run a full sync (send the sync node a message) or wait for the scheduled one; the message ' +
          'can be retried.',
        { retryable: true, details: { cache: cache.name, kind } },
      );
    }
    if (readiness === 'outdated') {
      const { syncedAt, freshUntil } = await cache.state(kind);
      throw new FinanceError(
        'STORE_UNAVAILABLE',
        `The master data cache "${cache.name}" holds ${kind} last synced at ${syncedAt}, and its scheduled syncs ` +
          `should have renewed that copy by ${freshUntil}; enriching from it could route approvals on records ` +
          "that no longer hold. See why the sync node's syncs fail (its status and the debug sidebar) and fix " +
          'the owner connection; the message can be retried once a sync succeeds.',
        { retryable: true, details: { cache: cache.name, kind, syncedAt, freshUntil } },
      );
    }
  }
}
