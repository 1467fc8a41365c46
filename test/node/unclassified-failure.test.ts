/**
 * A failure nobody classified (a library's or a bug's Error) leaves a node through done() with a code, as a
 * retryable failure, and without the credentials its text echoed: Node-RED logs that text and hands it to
 * Catch nodes, and msg.failure goes on to dead letters.
 */
import { EventEmitter } from 'node:events';
import type { Node } from 'node-red';
import { FinanceError } from '../../lib/errors';
import { asFinanceError, onInput } from '../../nodes/shared/node-input';

function fakeNode(): Node & EventEmitter {
  const node = new EventEmitter() as Node & EventEmitter;
  Object.assign(node, { type: 'finance-test', id: 'test-id', name: 'test', status: () => undefined });
  return node;
}

function thrownBy(handler: () => Promise<never>): Promise<{ error: Error; msg: Record<string, unknown> }> {
  const node = fakeNode();
  onInput(node, handler);
  const msg: Record<string, unknown> = { payload: {} };
  return new Promise((resolve) =>
    node.emit(
      'input',
      msg,
      () => undefined,
      (error: Error) => resolve({ error, msg }),
    ),
  );
}

describe('an unclassified failure', () => {
  const echoed =
    'connect ECONNREFUSED while opening postgres://finance:hunter2@db.internal/finance ' +
    '(request had Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig)';

  it('reaches done() coded and retryable, with the credentials in its text removed and no cause', async () => {
    const { error, msg } = await thrownBy(async () => {
      throw new Error(echoed);
    });
    expect(error).toBeInstanceOf(FinanceError);
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true });
    expect(error.message).toContain('connect ECONNREFUSED while opening postgres://[REDACTED]@db.internal/finance');
    for (const text of [error.message, error.stack ?? '', JSON.stringify(msg.failure)]) {
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    }
    expect(error.cause).toBeUndefined();
    // The frames of where it was thrown stay, for whoever debugs it.
    expect(error.stack).toMatch(/\n\s+at .*unclassified-failure\.test\.ts/);
  });

  it("keeps a store's own code, and a classified FinanceError as it is", () => {
    const storeFailure = Object.assign(new Error('MDB_MAP_FULL: mapsize reached'), { code: 'STORE_FULL' });
    expect(asFinanceError(storeFailure)).toMatchObject({
      code: 'STORE_FULL',
      message: 'MDB_MAP_FULL: mapsize reached',
    });
    const classified = new FinanceError('ERP_REJECTED', 'Vendor V1 is blocked.');
    expect(asFinanceError(classified)).toBe(classified);
    expect(asFinanceError('a thrown string')).toMatchObject({ code: 'ERP_UNAVAILABLE', message: 'a thrown string' });
  });
});
