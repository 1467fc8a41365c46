import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';

/** A promise the test settles by hand. */
function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedQueue', () => {
  it('runs the tasks of one key one after the other, in the order they were queued', async () => {
    const queue = new KeyedQueue();
    const order: string[] = [];
    const first = gate();
    const a = queue.run('po-1', async () => {
      order.push('a starts');
      await first.promise;
      order.push('a ends');
      return 'a';
    });
    const b = queue.run('po-1', async () => {
      order.push('b starts');
      return 'b';
    });
    await tick();
    expect(order).toEqual(['a starts']);
    first.open();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(order).toEqual(['a starts', 'a ends', 'b starts']);
  });

  it('runs tasks of different keys side by side', async () => {
    const queue = new KeyedQueue();
    const held = gate();
    const started: string[] = [];
    const a = queue.run('po-1', async () => {
      started.push('po-1');
      await held.promise;
    });
    const b = queue.run('po-2', async () => {
      started.push('po-2');
    });
    await b;
    expect(started).toEqual(['po-1', 'po-2']);
    held.open();
    await a;
  });

  it('goes on after a failed task; the failure reaches only its own caller', async () => {
    const queue = new KeyedQueue();
    const failed = queue.run('po-1', async () => {
      throw new Error('ERP down');
    });
    const next = queue.run('po-1', async () => 'applied');
    await expect(failed).rejects.toThrow('ERP down');
    await expect(next).resolves.toBe('applied');
  });

  it('forgets a key once its tasks are done, so it holds only documents in progress', async () => {
    const queue = new KeyedQueue();
    const held = gate();
    const running = queue.run('po-1', () => held.promise);
    expect(queue.size).toBe(1);
    held.open();
    await running;
    await tick();
    expect(queue.size).toBe(0);
  });
});
