import { fromMinorUnits } from '../model/money';
import type { Money } from '../model/types';

/**
 * Signed amounts in minor units summed per place they are charged to (an account and its dimensions), and the
 * places where two such tallies differ. A posting dialect compares what the ERP holds under a reference with
 * what the posting would book this way: lines are summed per place, so a revision that only splits or merges
 * lines is the same posting, while one that moves money to another account or cost center is not.
 */

/** Per key (a place in a form that compares as the ERP does): the place, to name it, and its summed amount. */
export type AmountTally<Place> = Map<string, { place: Place; minor: bigint }>;

export interface TallyDifference<Place> {
  place: Place;
  /** Absent: nothing there. */
  booked?: bigint;
  /** Absent: nothing there. */
  expected?: bigint;
}

/** Adds `minor` under `key`; the first place given for a key is the one that names it. */
export function addToTally<Place>(tally: AmountTally<Place>, key: string, place: Place, minor: bigint): void {
  const held = tally.get(key);
  tally.set(key, { place: held?.place ?? place, minor: (held?.minor ?? 0n) + minor });
}

/** The places whose amounts differ between the two tallies; a place one side lacks counts as 0 there. */
export function tallyDifferences<Place>(
  booked: AmountTally<Place>,
  expected: AmountTally<Place>,
): TallyDifference<Place>[] {
  const differences: TallyDifference<Place>[] = [];
  for (const key of new Set([...booked.keys(), ...expected.keys()])) {
    const have = booked.get(key);
    const want = expected.get(key);
    if ((have?.minor ?? 0n) === (want?.minor ?? 0n)) continue;
    differences.push({
      place: (have ?? want)!.place,
      ...(have && have.minor !== 0n ? { booked: have.minor } : {}),
      ...(want && want.minor !== 0n ? { expected: want.minor } : {}),
    });
  }
  return differences;
}

/** The differences as an error's details show them: each place with its amounts as Money (null: nothing there). */
export function differenceDetails<Place extends object>(
  differences: readonly TallyDifference<Place>[],
  currency: string,
): Array<Place & { booked: Money | null; expected: Money | null }> {
  return differences.map((d) => ({
    ...d.place,
    booked: d.booked === undefined ? null : fromMinorUnits(d.booked, currency),
    expected: d.expected === undefined ? null : fromMinorUnits(d.expected, currency),
  }));
}
