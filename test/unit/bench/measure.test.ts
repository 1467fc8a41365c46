const { median, medianRatio } = require('../../../bench/lib/measure') as {
  median: (values: Array<number | null | undefined>) => number | null;
  medianRatio: (numerators: Array<number | null>, denominators: Array<number | null>) => number | null;
};

describe('bench medianRatio', () => {
  it('takes the ratio within each round, then the median, not the ratio of the medians', () => {
    // Per round: 3x, 20x and 10x. The medians of the rates (200 and 10) would say 20x, pairing round 2's
    // fast pack with round 1's slow JSONata.
    const pack = [30, 200, 210];
    const jsonata = [10, 10, 21];
    expect(medianRatio(pack, jsonata)).toBe(10);
    expect((median(pack) as number) / (median(jsonata) as number)).toBe(20);
  });

  it('leaves out rounds where a variant has no figure', () => {
    expect(medianRatio([10, null, 30], [1, 2, 3])).toBe(10);
    expect(medianRatio([10, 20, 30], [1, 0, 3])).toBe(10);
    expect(medianRatio([null], [1])).toBeNull();
  });
});
