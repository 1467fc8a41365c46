/**
 * ERPNext master data paged by name (`order_by name asc`, `['name', '>', last]`), not by limit_start: a record
 * deleted in ERPNext between two pages must not hide a live one from the listing (and so from a full sync).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MasterDataCache, syncKind, type MasterDataChange } from '../../../lib/masterdata';
import type { MasterDataKind } from '../../../lib/model/types';
import { openStore, type FinanceStore } from '../../../lib/reliability/store';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { erpnextConnection } from './erpnext-fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';

const CLIENT = { clientId: 'fs-api-key', clientSecret: 'fs-api-secret' };
const DOCTYPES = { employees: 'Employee', suppliers: 'Supplier', costCenters: 'Cost Center', glAccounts: 'Account' };
type Kind = keyof typeof DOCTYPES;

describe('ERPNext master data: paged by name', () => {
  let rig: DialectRig;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-erpnext-md-'));
  const stores: FinanceStore[] = [];
  // A fresh simulator per test: the tests delete records in it.
  beforeEach(async () => {
    rig = await startDialectRig(erpnextConnection(), { auth: { type: 'oauth2', ...CLIENT } });
  });
  afterEach(() => rig.close());
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Deletes in "ERPNext" the document a listed record came from (id is the name or the number). */
  function deleteInErpnext(kind: Kind, id: string): void {
    const table = erpnextStoreOf(rig.sandbox.state).table(DOCTYPES[kind]);
    for (const [name, doc] of table) {
      if (name === id || doc.cost_center_number === id || doc.account_number === id) table.delete(name);
    }
  }

  async function listAll(kind: MasterDataKind, limit: number, between?: (page: number, ids: string[]) => void) {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await rig.dialect.listMasterData(kind, { cursor, limit }, ctx);
      ids.push(...page.items.map((item) => item.id));
      between?.(
        pages,
        page.items.map((item) => item.id),
      );
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 100);
    return { ids, pages };
  }

  it.each(Object.keys(DOCTYPES) as Kind[])(
    'a %s listing misses no live record when one on a page already read is deleted between pages',
    async (kind) => {
      let deleted = '';
      const first = await listAll(kind, 3, (page, ids) => {
        if (page === 0) {
          deleted = ids[0];
          deleteInErpnext(kind, deleted);
        }
      });
      expect(first.pages).toBeGreaterThan(1);
      const live = (await listAll(kind, 500)).ids;
      expect(live).not.toContain(deleted);
      expect(live.filter((id) => !first.ids.includes(id))).toEqual([]);
      expect(new Set(first.ids).size).toBe(first.ids.length);

      const reads = rig.http.exchanges.filter(
        (e) => e.request.method === 'GET' && e.request.path === `/api/resource/${encodeURIComponent(DOCTYPES[kind])}`,
      );
      expect(reads.every((read) => read.request.query?.limit_start === undefined)).toBe(true);
      expect(reads.every((read) => read.request.query?.order_by === 'name asc')).toBe(true);
      const lastName = (reads[0].response?.data as { data: Array<{ name: string }> }).data[2].name;
      expect(JSON.parse(String(reads[1].request.query?.filters))).toContainEqual(['name', '>', lastName]);
    },
  );

  it('a full sync removes no live supplier when another is deleted in ERPNext between its pages', async () => {
    const store = openStore({ path: path.join(root, 'db') });
    stores.push(store);
    const cache = new MasterDataCache(store, 'erpnext-test');
    const base = {
      cache,
      kind: 'suppliers' as const,
      mode: 'full' as const,
      ctx,
      pageSize: 3,
      overlapMs: 60_000,
      maxPages: 50,
      now: () => new Date(),
    };
    await syncKind({ ...base, lister: rig.dialect, onChange: () => {} });
    let page = 0;
    let deleted = '';
    const lister = {
      listMasterData: async (kind: MasterDataKind, query: Parameters<typeof rig.dialect.listMasterData>[1]) => {
        const result = await rig.dialect.listMasterData(kind, query, ctx);
        if (++page === 1) {
          deleted = result.items[0].id;
          deleteInErpnext('suppliers', deleted);
        }
        return result;
      },
    };
    const changes: MasterDataChange[] = [];
    await syncKind({ ...base, lister, onChange: (change) => void changes.push(change) });
    expect(changes).toEqual([]);
    await syncKind({ ...base, lister: rig.dialect, onChange: (change) => void changes.push(change) });
    expect(changes.map((change) => [change.change, change.id])).toEqual([['removed', deleted]]);
    const cached: string[] = [];
    for await (const record of cache.all('suppliers')) cached.push(record.id);
    expect(cached.sort()).toEqual((await listAll('suppliers', 500)).ids.sort());
  });
});
