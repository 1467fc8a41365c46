import { addToTally, tallyDifferences, type AmountTally } from '../../../lib/erp/amount-tally';

describe('amount tallies', () => {
  it('sums per key, names a key by its first place, and lists only the places whose amounts differ', () => {
    const booked: AmountTally<string> = new Map();
    addToTally(booked, '6000/CC-100', '6000 on CC-100', 10_000n);
    addToTally(booked, '6000/CC-100', '6000 on cc-100', 5_000n);
    addToTally(booked, '6010/CC-100', '6010 on CC-100', 2_500n);
    const expected: AmountTally<string> = new Map();
    // One line of the sum posts what two lines post: no difference there.
    addToTally(expected, '6000/CC-100', '6000 on CC-100', 15_000n);
    addToTally(expected, '6010/CC-200', '6010 on CC-200', 2_500n);
    expect(booked.get('6000/CC-100')).toEqual({ place: '6000 on CC-100', minor: 15_000n });
    expect(tallyDifferences(booked, expected)).toEqual([
      { place: '6010 on CC-100', booked: 2_500n },
      { place: '6010 on CC-200', expected: 2_500n },
    ]);
  });

  it('takes a place summing to zero on one side as nothing there', () => {
    const booked: AmountTally<string> = new Map();
    addToTally(booked, 'a', 'a', 100n);
    addToTally(booked, 'a', 'a', -100n);
    const expected: AmountTally<string> = new Map();
    expect(tallyDifferences(booked, expected)).toEqual([]);
    addToTally(expected, 'a', 'a', 100n);
    expect(tallyDifferences(booked, expected)).toEqual([{ place: 'a', expected: 100n }]);
  });
});
