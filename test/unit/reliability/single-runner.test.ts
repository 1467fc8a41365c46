import { FinanceError } from '../../../lib/errors';
import { SingleRunner, runnerHolder, runnerTtlMs } from '../../../lib/reliability/single-runner';

describe('SingleRunner', () => {
  it('answers what the store answers for its lease, renewing it with the same holder', async () => {
    const claims: Array<[string, string, number]> = [];
    let free = true;
    const runner = new SingleRunner({
      store: () => ({
        claimLease: async (name, holder, ttlMs) => {
          claims.push([name, holder, ttlMs]);
          return free;
        },
      }),
      name: 'poll/coupa',
      holder: 'host-a/1',
      ttlMs: 30_000,
    });
    expect(await runner.mayRun()).toBe(true);
    free = false;
    expect(await runner.mayRun()).toBe(false);
    expect(claims).toEqual([
      ['poll/coupa', 'host-a/1', 30_000],
      ['poll/coupa', 'host-a/1', 30_000],
    ]);
  });

  it('skips the run when the store fails, and reports why', async () => {
    const errors: unknown[] = [];
    const failure = new FinanceError('STORE_UNAVAILABLE', 'down');
    const runner = new SingleRunner({
      store: () => ({ claimLease: async () => Promise.reject(failure) }),
      name: 'x',
      ttlMs: 1000,
      onError: (err) => errors.push(err),
    });
    expect(await runner.mayRun()).toBe(false);
    expect(errors).toEqual([failure]);
    expect(runner.holder).toBe(runnerHolder());
  });

  it('lets the lease outlive two missed ticks, and never less than ten seconds', () => {
    expect(runnerTtlMs(60_000)).toBe(180_000);
    expect(runnerTtlMs(1000)).toBe(10_000);
  });
});
