/**
 * The LMDB store's stored format (layout 2): inbox records share the fixed structures of store-structures.ts,
 * a layout 1 store is read and taken over, a store of an unknown layout is refused, and the table itself is
 * pinned, because records written with it can only be read with the same table.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open } from 'lmdb';
import { inboxKey, openStore, type FinanceStore } from '../../../lib/reliability/store';
import { INBOX_STRUCTURES } from '../../../lib/reliability/store-structures';
import { sampleEvent } from '../../../lib/sources/sampleEvents';

/** An accepted canonical event as the intake stores it: the envelope it builds, the report as the payload. */
function canonicalEvent(seed: number) {
  const report = sampleEvent({ seed, scheme: 'none', now: () => 1_795_000_000_000 }).expected;
  const envelope = {
    id: `evt-${report.reportId}`,
    source: 'urn:finance-sync:samples',
    type: 'finance.expense-report.submitted',
    subject: report.reportId,
    time: '2026-11-28T04:02:42.214Z',
    correlationId: `c-${seed}`,
    docType: 'ExpenseReport',
    docId: report.reportId,
    version: 1,
    attempt: 1,
  };
  return { key: inboxKey('urn:finance-sync:samples', envelope.id), envelope, payload: report };
}

/** An inbox record as layout 1 wrote it: plain MessagePack, each record holding its own key names. */
function layout1Record(event: ReturnType<typeof canonicalEvent>, receivedAt: number) {
  return { envelope: { v: event.envelope }, payload: { v: event.payload }, receivedAt, state: 'open', attempts: 0 };
}

describe('LMDB store layout', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-store-layout-'));
  const opened: FinanceStore[] = [];
  let counter = 0;
  const newDir = () => path.join(root, `db-${++counter}`);
  const openAt = (dir: string) => {
    const store = openStore({ path: dir });
    opened.push(store);
    return store;
  };
  afterAll(async () => {
    await Promise.all(opened.map((store) => store.close()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The raw bytes and the layout marker of a store, read with plain lmdb-js (no shared structures). */
  async function rawView(dir: string, key: string) {
    const env = open({ path: dir });
    const bytes = env.openDB({ name: 'inbox', encoding: 'binary' }).getBinary(key)?.length;
    const layout = env.openDB({ name: 'meta' }).get('layout');
    await env.close();
    return { bytes, layout };
  }

  it('stores a canonical expense event in at most two thirds of the bytes layout 1 took, and reads it back exactly', async () => {
    const dir = newDir();
    const store = openAt(dir);
    const event = canonicalEvent(7);
    await store.accept({ ...event, receivedAt: 1_795_000_000_000 });
    const entry = await store.get(event.key);
    expect(entry?.state).toBe('open');
    expect(entry?.envelope).toEqual(event.envelope);
    expect(entry?.payload).toEqual(event.payload);
    await store.close();

    const { bytes, layout } = await rawView(dir, event.key);
    const plainDir = newDir();
    const plain = open({ path: plainDir });
    await plain.openDB({ name: 'inbox' }).put(event.key, layout1Record(event, 1_795_000_000_000));
    await plain.close();
    const layout1Bytes = (await rawView(plainDir, event.key)).bytes ?? 0;
    expect(layout).toBe(2);
    expect(bytes).toBeLessThanOrEqual(Math.floor((layout1Bytes * 2) / 3));
  });

  it('reads a layout 1 store, mixes its records with new ones, and marks it layout 2', async () => {
    const dir = newDir();
    const old = Array.from({ length: 6 }, (_, i) => canonicalEvent(100 + i));
    const env = open({ path: dir });
    const inbox = env.openDB({ name: 'inbox' });
    const inboxOpen = env.openDB({ name: 'inbox-open' });
    const inboxDue = env.openDB({ name: 'inbox-due' });
    const meta = env.openDB({ name: 'meta' });
    await env.transaction(() => {
      old.forEach((event, i) => {
        inbox.put(event.key, layout1Record(event, 1000 + i));
        inboxOpen.put(event.key, null);
        inboxDue.put([0, 1000 + i, event.key], null);
      });
      meta.put('inbox-open-count', old.length);
      meta.put('layout', 1);
    });
    await env.close();

    const store = openAt(dir);
    const fresh = canonicalEvent(200);
    // Unknown shapes too: extra fields and another key order are written with their own key names.
    const odd = {
      key: 'odd',
      envelope: { source: 's', id: 'odd', extra: { deep: [1, 'two'] } },
      payload: { b: 1, a: 2 },
    };
    await store.accept(fresh);
    await store.accept(odd);
    await store.finish(old[0].key, {
      status: 'posted',
      detail: { writeback: { target: 'webhook', status: 'posted' } },
    });
    const check = async (s: FinanceStore) => {
      // Reading old, new and odd records in turn: an old record's own structures must not leak into the next.
      for (const event of [old[1], fresh, old[2], odd, old[3], old[0]]) {
        const entry = await s.get(event.key);
        expect(entry?.envelope).toEqual(event.envelope);
        expect(entry?.payload).toEqual(event.payload);
      }
      expect(await s.get(old[0].key)).toMatchObject({ state: 'final', outcome: { status: 'posted' } });
      expect(await s.countOpen()).toBe(old.length - 1 + 2);
      expect((await s.listOpen({ limit: 100 })).map((entry) => entry.key).sort()).toEqual(
        [...old.slice(1).map((event) => event.key), fresh.key, odd.key].sort(),
      );
    };
    await check(store);
    await store.close();

    expect((await rawView(dir, fresh.key)).layout).toBe(2);
    const reopened = openAt(dir);
    await check(reopened);
    await reopened.close();
  });

  it('refuses a store written by a newer layout, saying which, and leaves it untouched', async () => {
    const dir = newDir();
    const env = open({ path: dir });
    await env.openDB({ name: 'meta' }).put('layout', 3);
    await env.close();

    let refusal: unknown;
    try {
      openAt(dir);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('(layout 3;') });
    expect((await rawView(dir, 'none')).layout).toBe(3);
  });

  it('keeps the structure table of layout 2 exactly as released', () => {
    // Records written with the table can only be read with the same table. If this fails, the table was
    // changed: restore it, or add the change as a new layout version (store-lmdb.ts) that still reads layout 2.
    const digest = createHash('sha256').update(JSON.stringify(INBOX_STRUCTURES)).digest('hex');
    expect(digest).toBe(LAYOUT_2_TABLE_SHA256);
  });
});

const LAYOUT_2_TABLE_SHA256 = '5a9bf1603f19c3b5b195c421e3ff3e90c25a24445549035553ab2e966c9ad389';
