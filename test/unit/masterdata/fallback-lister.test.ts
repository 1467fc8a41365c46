/**
 * "The ERP, else the source": a kind the ERP's dialect does not publish (SAP: employees) is read from the
 * source; a kind it publishes, and any real failure of the ERP, never falls back.
 */
import { FinanceError } from '../../../lib/errors';
import { erpElseSourceLister } from '../../../lib/masterdata';
import type { MasterDataKind, MasterDataLister } from '../../../lib/masterdata/kinds';
import { FakeOwner, employee } from './fixtures';

const ctx = { correlationId: 'c-1' };

/** An ERP that publishes only suppliers, like a dialect without an employee directory. */
function erpWithout(kinds: MasterDataKind[], published: FakeOwner): MasterDataLister {
  return {
    listMasterData: async (kind, query) => {
      if (kinds.includes(kind)) {
        throw new FinanceError('CONFIG_INVALID', `${kind} are not published by this ERP`, {
          details: { kind, notPublished: true },
        });
      }
      return published.listMasterData(kind, query);
    },
  };
}

describe('erpElseSourceLister', () => {
  it('reads a kind the ERP does not publish from the source, and a published kind from the ERP', async () => {
    const erp = new FakeOwner();
    erp.set('suppliers', { id: 'V1', name: 'Supplier from the ERP' });
    erp.set('employees', employee('E-ERP'));
    const source = new FakeOwner();
    source.set('employees', employee('E-SOURCE'));
    source.set('suppliers', { id: 'V2', name: 'Supplier from the source' });
    let sourceOpened = 0;
    const lister = erpElseSourceLister(erpWithout(['employees'], erp), async () => {
      sourceOpened += 1;
      return source;
    });

    const employees = await lister.listMasterData('employees', { limit: 10 }, ctx);
    expect(employees.items.map((record) => record.id)).toEqual(['E-SOURCE']);
    const suppliers = await lister.listMasterData('suppliers', { limit: 10 }, ctx);
    expect(suppliers.items.map((record) => record.id)).toEqual(['V1']);
    expect(sourceOpened).toBe(1);
  });

  it('passes on a failure of the ERP instead of reading the source', async () => {
    const source = new FakeOwner();
    source.set('employees', employee('E-SOURCE'));
    const down: MasterDataLister = {
      listMasterData: async () => {
        throw new FinanceError('ERP_UNAVAILABLE', 'the ERP answered 503');
      },
    };
    const invalid: MasterDataLister = {
      listMasterData: async () => {
        throw new FinanceError('CONFIG_INVALID', 'no such company');
      },
    };
    await expect(erpElseSourceLister(down, async () => source).listMasterData('employees', {}, ctx)).rejects.toThrow(
      'the ERP answered 503',
    );
    await expect(erpElseSourceLister(invalid, async () => source).listMasterData('employees', {}, ctx)).rejects.toThrow(
      'no such company',
    );
  });
});
