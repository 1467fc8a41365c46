/** A fake owner of master data (cursor or offset paging, changes between pages) and a cache in a temp store. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MasterDataCache } from '../../../lib/masterdata';
import type { MasterDataKind, MasterDataLister, MasterRecord } from '../../../lib/masterdata/kinds';
import { openStore, type FinanceStore } from '../../../lib/reliability/store';

export type Paging = 'modified-cursor' | 'id-offset';

export class FakeOwner implements MasterDataLister {
  readonly records = new Map<MasterDataKind, Map<string, MasterRecord>>();
  /** Requests seen, for assertions on modifiedSince and paging. */
  readonly calls: Array<{ kind: MasterDataKind; modifiedSince?: string; cursor?: string | null }> = [];
  /** Runs before page `n` (0-based) of a listing is answered: changes "during the sync". */
  beforePage?: (n: number, kind: MasterDataKind) => void;
  #time = Date.parse('2026-03-01T00:00:00Z');
  #page = 0;

  constructor(readonly paging: Paging = 'modified-cursor') {}

  /** Creates or changes a record; its modifiedAt is later than any before. */
  set(kind: MasterDataKind, record: Omit<MasterRecord, 'modifiedAt'> & Record<string, unknown>): MasterRecord {
    this.#time += 1000;
    const stored = { ...record, modifiedAt: new Date(this.#time).toISOString() } as MasterRecord;
    if (!this.records.has(kind)) this.records.set(kind, new Map());
    this.records.get(kind)!.set(stored.id, stored);
    return stored;
  }

  change(kind: MasterDataKind, id: string, changes: Record<string, unknown>): MasterRecord {
    const current = this.records.get(kind)!.get(id)!;
    return this.set(kind, { ...current, ...changes });
  }

  remove(kind: MasterDataKind, id: string): void {
    this.records.get(kind)?.delete(id);
  }

  async listMasterData(
    kind: MasterDataKind,
    query: { modifiedSince?: string; cursor?: string | null; limit?: number },
  ): Promise<{ items: MasterRecord[]; nextCursor: string | null }> {
    this.calls.push({ kind, modifiedSince: query.modifiedSince, cursor: query.cursor });
    if (!query.cursor) this.#page = 0;
    this.beforePage?.(this.#page, kind);
    this.#page += 1;
    const limit = query.limit ?? 100;
    const since = query.modifiedSince ? Date.parse(query.modifiedSince) : -Infinity;
    const all = [...(this.records.get(kind)?.values() ?? [])].filter((r) => Date.parse(r.modifiedAt) >= since);
    if (this.paging === 'id-offset') {
      all.sort((a, b) => (a.id < b.id ? -1 : 1));
      const offset = query.cursor ? Number(query.cursor) : 0;
      const items = all.slice(offset, offset + limit);
      return { items, nextCursor: offset + limit < all.length ? String(offset + limit) : null };
    }
    const key = (r: MasterRecord) => `${r.modifiedAt}|${r.id}`;
    all.sort((a, b) => (key(a) < key(b) ? -1 : 1));
    const after = query.cursor ?? '';
    const rest = all.filter((r) => key(r) > after);
    const items = rest.slice(0, limit);
    return { items, nextCursor: rest.length > limit ? key(items[items.length - 1]) : null };
  }
}

export function employee(id: string, managerId?: string, extra: Record<string, unknown> = {}) {
  return { id, name: `Person ${id}`, active: true, ...(managerId && { managerId }), ...extra };
}

export function tempStores(name: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `finance-md-${name}-`));
  const opened: FinanceStore[] = [];
  let counter = 0;
  return {
    open(now?: () => number): { store: FinanceStore; cache: MasterDataCache } {
      const store = openStore({ path: path.join(root, `db-${++counter}`), ...(now && { now }) });
      opened.push(store);
      return { store, cache: new MasterDataCache(store, 'test') };
    },
    async cleanup() {
      await Promise.all(opened.map((store) => store.close()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
