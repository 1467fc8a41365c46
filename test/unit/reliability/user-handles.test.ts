import { UserHandles } from '../../../lib/reliability/user-handles';

describe('UserHandles: a config node waits for the flow nodes using its resource', () => {
  it('with no handle held, released() answers true at once', async () => {
    await expect(new UserHandles().released(10_000)).resolves.toBe(true);
  });

  it('resolves true once the last handle is released, not before', async () => {
    const users = new UserHandles();
    const first = users.take();
    const second = users.take();
    let answer: boolean | undefined;
    const waiting = users.released(10_000).then((all) => (answer = all));
    first.release();
    first.release(); // a second release of the same handle does not count
    await new Promise((resolve) => setImmediate(resolve));
    expect(answer).toBeUndefined();
    expect(users.held).toBe(1);
    second.release();
    await waiting;
    expect(answer).toBe(true);
    expect(users.held).toBe(0);
  });

  it('resolves false when the bound passes first: a user whose close hangs cannot hold the resource for ever', async () => {
    jest.useFakeTimers();
    try {
      const users = new UserHandles();
      users.take();
      const waiting = users.released(10_000);
      jest.advanceTimersByTime(10_000);
      await expect(waiting).resolves.toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('several closes may wait at once', async () => {
    const users = new UserHandles();
    const handle = users.take();
    const both = Promise.all([users.released(10_000), users.released(10_000)]);
    handle.release();
    await expect(both).resolves.toEqual([true, true]);
  });
});
