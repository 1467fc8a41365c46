import { readDirectory } from '../../../lib/approval/directory-cache';
import { cachedLister, enrich, referencesOf, syncKind, type MasterDataCache } from '../../../lib/masterdata';
import type { MasterDataKind } from '../../../lib/masterdata/kinds';
import { lookupOf, readMasterData } from '../../../lib/purchasing/master-data';
import { FakeOwner, employee, tempStores } from './fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

function demoOwner(): FakeOwner {
  const owner = new FakeOwner();
  owner.set('employees', employee('E1', undefined, { approvalLimit: eur('100000.00') }));
  owner.set('employees', employee('E2', 'E1', { approvalLimit: eur('5000.00') }));
  owner.set('employees', employee('E3', 'E2', { costCenter: 'CC-100' }));
  owner.set('employees', employee('E4', 'E9')); // manager E9 does not exist
  owner.set('costCenters', { id: 'CC-100', name: 'Sales', ownerId: 'E2', open: true });
  owner.set('costCenters', { id: 'CC-200', name: 'Orphan', ownerId: 'E77', open: true });
  owner.set('projects', { id: 'PRJ-1', name: 'Open one', status: 'open' });
  owner.set('projects', { id: 'PRJ-2', name: 'Closed one', status: 'closed' });
  owner.set('suppliers', { id: 'SUP-1', name: 'Blocked Ltd', country: 'DE', status: 'blocked' });
  owner.set('glAccounts', { id: '6100', name: 'Travel', type: 'expense', open: true });
  owner.set('taxCodes', { id: 'DE19', name: 'VAT 19', country: 'DE', rate: '19.00' });
  return owner;
}

async function fill(cache: MasterDataCache, owner: FakeOwner, kinds: MasterDataKind[]) {
  for (const kind of kinds) {
    await syncKind({
      lister: owner,
      cache,
      kind,
      mode: 'full',
      ctx: { correlationId: 't' },
      pageSize: 2,
      overlapMs: 0,
      maxPages: 100,
      now: () => new Date(),
      onChange: () => undefined,
    });
  }
}

const ALL: MasterDataKind[] = ['employees', 'suppliers', 'costCenters', 'projects', 'glAccounts', 'taxCodes'];

const report = (employeeId: string, dimensions: Record<string, string>) => ({
  docType: 'ExpenseReport',
  employeeId,
  lines: [{ lineId: '1', taxCode: 'DE19', dimensions }],
});

describe('enrich: the records a message refers to', () => {
  const stores = tempStores('enrich');
  afterAll(() => stores.cleanup());

  it('finds the references of an expense report, a requisition and a purchase order', () => {
    expect(referencesOf(report('E3', { costCenter: 'CC-100', project: 'PRJ-1', glAccount: '6100' }))).toEqual([
      { kind: 'employees', id: 'E3', path: '/employeeId' },
      { kind: 'taxCodes', id: 'DE19', path: '/lines/0/taxCode' },
      { kind: 'costCenters', id: 'CC-100', path: '/lines/0/dimensions/costCenter' },
      { kind: 'projects', id: 'PRJ-1', path: '/lines/0/dimensions/project' },
      { kind: 'glAccounts', id: '6100', path: '/lines/0/dimensions/glAccount' },
    ]);
    const requisition = {
      requesterId: 'E3',
      supplierId: 'SUP-1',
      lines: [{ accountAssignments: [{ dimensions: { costCenter: 'CC-100' } }, { dimensions: { project: 'PRJ-2' } }] }],
    };
    expect(referencesOf(requisition).map((ref) => ref.path)).toEqual([
      '/requesterId',
      '/supplierId',
      '/lines/0/accountAssignments/0/dimensions/costCenter',
      '/lines/0/accountAssignments/1/dimensions/project',
    ]);
    expect(() => referencesOf('text')).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
  });

  it('hits: employee with the manager chain, cost center with its owner, project and supplier with status', async () => {
    const { cache } = stores.open();
    await fill(cache, demoOwner(), ALL);
    const document = {
      ...report('E3', { costCenter: 'CC-100', project: 'PRJ-2', glAccount: '6100' }),
      supplierId: 'SUP-1',
    };
    const { masterData, notFound } = await enrich(cache, document);
    expect(notFound).toEqual([]);
    expect(masterData.employee?.id).toBe('E3');
    expect(masterData.employee?.managerChain.map((manager) => [manager.id, manager.approvalLimit?.amount])).toEqual([
      ['E2', '5000.00'],
      ['E1', '100000.00'],
    ]);
    expect(masterData.costCenters['CC-100']).toMatchObject({ ownerId: 'E2', owner: { id: 'E2' } });
    expect(masterData.projects['PRJ-2']).toMatchObject({ status: 'closed' });
    expect(masterData.supplier).toMatchObject({ id: 'SUP-1', status: 'blocked' });
    expect(masterData.glAccounts['6100']).toMatchObject({ name: 'Travel' });
    expect(masterData.taxCodes.DE19).toMatchObject({ rate: '19.00' });
  });

  it('misses: unknown records, a manager or an owner missing from the cache, each named with its path', async () => {
    const { cache } = stores.open();
    await fill(cache, demoOwner(), ALL);
    const document = {
      ...report('E4', { costCenter: 'CC-200', project: 'PRJ-404' }),
      supplierId: 'SUP-404',
    };
    const { masterData, notFound } = await enrich(cache, document);
    expect(notFound).toEqual([
      expect.objectContaining({
        kind: 'employees',
        id: 'E9',
        path: '/employeeId',
        reason: expect.stringContaining('manager E9 of E4'),
      }),
      expect.objectContaining({ kind: 'suppliers', id: 'SUP-404', path: '/supplierId' }),
      expect.objectContaining({ kind: 'employees', id: 'E77', path: '/lines/0/dimensions/costCenter' }),
      expect.objectContaining({ kind: 'projects', id: 'PRJ-404', path: '/lines/0/dimensions/project' }),
    ]);
    // What was found is still there.
    expect(masterData.employee?.id).toBe('E4');
    expect(masterData.costCenters['CC-200']).toMatchObject({ id: 'CC-200' });
  });

  it('a kind never synced is not a miss but a retryable failure', async () => {
    const { cache } = stores.open();
    await fill(cache, demoOwner(), ['employees']);
    await expect(enrich(cache, { supplierId: 'SUP-1' })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retryable: true,
    });
  });
});

describe('cachedLister: the cache in place of the ERP for approval routing and PO validation', () => {
  const stores = tempStores('lister');
  afterAll(() => stores.cleanup());

  it('serves complete kinds from the store, page by page, and the others from the fallback', async () => {
    const owner = demoOwner();
    const { cache } = stores.open();
    await fill(cache, owner, ['employees', 'costCenters', 'suppliers']);
    const erp = new FakeOwner();
    erp.set('projects', { id: 'PRJ-ERP', name: 'From the ERP', status: 'open' });
    const lister = cachedLister(cache, erp);

    const first = await lister.listMasterData('employees', { limit: 3 }, { correlationId: 't' });
    expect(first.items.map((record) => record.id)).toEqual(['E1', 'E2', 'E3']);
    const second = await lister.listMasterData(
      'employees',
      { limit: 3, cursor: first.nextCursor },
      { correlationId: 't' },
    );
    expect(second).toMatchObject({ items: [{ id: 'E4' }], nextCursor: null });
    expect(erp.calls).toEqual([]);

    const projects = await lister.listMasterData('projects', {}, { correlationId: 't' });
    expect(projects.items.map((record) => record.id)).toEqual(['PRJ-ERP']);
    expect(erp.calls).toHaveLength(1);
  });

  it('readDirectory and readMasterData read through it unchanged', async () => {
    const owner = demoOwner();
    const { cache } = stores.open();
    await fill(cache, owner, ALL);
    const failing = {
      listMasterData: async () => {
        throw new Error('the ERP must not be asked');
      },
    };
    const directory = await readDirectory(cachedLister(cache, failing), { correlationId: 't' }, { pageSize: 2 });
    expect(directory.employees.map((person) => person.id)).toEqual(['E1', 'E2', 'E3', 'E4']);
    expect(directory.costCenters).toContainEqual({ id: 'CC-100', ownerId: 'E2' });
    const lookup = lookupOf(await readMasterData(cachedLister(cache, failing), { correlationId: 't' }));
    expect(lookup.supplier('SUP-1')).toMatchObject({ status: 'blocked' });
    expect(lookup.project?.('PRJ-2')).toMatchObject({ status: 'closed' });
  });
});
