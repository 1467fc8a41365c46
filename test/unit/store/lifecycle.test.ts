import * as fs from 'node:fs';
import * as path from 'node:path';
import { inboxKey, openStore } from '../../../lib/reliability/store';
import { manualClock, storeSandbox } from './store-fixture';

describe('store lifecycle', () => {
  const sandbox = storeSandbox('lifecycle');
  afterAll(() => sandbox.cleanup());

  it('keeps inbox, ledger and kv across a close and reopen, with the open count intact', async () => {
    const clock = manualClock();
    const dir = sandbox.newPath();
    const first = sandbox.open({ path: dir, now: clock.now });
    for (let i = 0; i < 10; i++) {
      await first.accept({ key: inboxKey('brex', `e${i}`), envelope: { id: `e${i}` }, payload: { i } });
    }
    for (let i = 0; i < 4; i++) await first.finish(inboxKey('brex', `e${i}`), { status: 'posted' });
    await first.lease(inboxKey('brex', 'e5'), 'host-a', 60_000);
    await first.ledgerBegin('brex:expense:R1:1:post', 'host-a');
    await first.kvPut('cursor', 'brex', 'page-7');
    await first.close();

    const second = sandbox.open({ path: dir, now: clock.now });
    expect(await second.countOpen()).toBe(6);
    expect(await second.listOpen({ limit: 100 })).toHaveLength(6);
    expect(await second.get(inboxKey('brex', 'e0'))).toMatchObject({ state: 'final', outcome: { status: 'posted' } });
    expect(await second.get(inboxKey('brex', 'e5'))).toMatchObject({ leaseOwner: 'host-a', attempts: 1 });
    expect(await second.ledgerGet('brex:expense:R1:1:post')).toMatchObject({ state: 'in-flight', owner: 'host-a' });
    expect(await second.kvGet('cursor', 'brex')).toBe('page-7');
    expect((await second.accept({ key: inboxKey('brex', 'e9'), envelope: {}, payload: null })).status).toBe(
      'duplicate',
    );
    await second.close();
  });

  it('shares one database between two handles on the same path; closing one leaves the other working', async () => {
    const dir = sandbox.newPath();
    const oldNode = openStore({ path: dir });
    const newNode = openStore({ path: path.join(dir, '.') });
    await oldNode.accept({ key: 'k1', envelope: {}, payload: 1 });
    expect((await newNode.accept({ key: 'k1', envelope: {}, payload: 1 })).status).toBe('duplicate');

    await oldNode.close();
    await oldNode.close(); // a second close of the same handle must not release the other handle's share
    expect((await newNode.accept({ key: 'k2', envelope: {}, payload: 2 })).status).toBe('accepted');
    expect(await newNode.countOpen()).toBe(2);
    await newNode.close();

    const reopened = openStore({ path: dir });
    expect(await reopened.countOpen()).toBe(2);
    await reopened.close();
  });

  it('a closed handle answers STORE_UNAVAILABLE instead of crashing', async () => {
    const store = openStore({ path: sandbox.newPath() });
    await store.close();
    await expect(store.accept({ key: 'k', envelope: {}, payload: 1 })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retryable: true,
    });
    await expect(store.countOpen()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('refuses to open a path that cannot hold a database, with STORE_UNAVAILABLE and the path', () => {
    const file = path.join(sandbox.root, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    expect(() => openStore({ path: path.join(file, 'store') })).toThrow(
      expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining(file) }),
    );
  });

  it('refuses nonsensical options with CONFIG_INVALID', () => {
    expect(() => openStore({ path: '' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => openStore({ path: sandbox.newPath(), maxInboxEntries: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => openStore({ path: sandbox.newPath(), dedupRetentionMs: -1 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  describe('values round-trip exactly and safely', () => {
    const dir = sandbox.newPath();

    it('keeps __proto__ and constructor keys as plain data and pollutes no prototype', async () => {
      const hostile = JSON.parse(
        '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, ' +
          '"lines": [{"__proto__": {"isAdmin": true}, "amount": "1.00"}]}',
      );
      const store = openStore({ path: dir });
      await store.accept({ key: 'hostile', envelope: { id: 'x' }, payload: hostile });
      await store.kvPut('ns', 'hostile', hostile);
      await store.close();

      const reopened = openStore({ path: dir });
      const entry = await reopened.get('hostile');
      const value = (await reopened.kvGet('ns', 'hostile')) as Record<string, unknown>;
      await reopened.close();

      for (const back of [entry?.payload as Record<string, unknown>, value]) {
        expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
        expect(Object.keys(back)).toEqual(['__proto__', 'constructor', 'lines']);
        expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ polluted: true });
        const line = (back.lines as Record<string, unknown>[])[0];
        expect(Object.getOwnPropertyDescriptor(line, '__proto__')?.value).toEqual({ isAdmin: true });
        expect(line.amount).toBe('1.00');
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    });

    // Stored values come from JSON (HTTP bodies, MQTT payloads), so JSON types are what must round-trip.
    it('keeps ordinary JSON, unicode, nulls and nested arrays as they were', async () => {
      const payload = {
        text: 'Größe 東京 🚀 \u0000 end',
        amount: '1234567890123.45',
        nothing: null,
        flags: [true, false],
        nested: { deep: [[1, 2], [{ a: 'b' }]] },
        empty: {},
      };
      const store = openStore({ path: dir });
      await store.accept({ key: 'plain', envelope: { id: 'p' }, payload });
      expect((await store.get('plain'))?.payload).toEqual(payload);
      await store.close();
    });
  });
});
