import {
  authorityOf,
  delegatesOf,
  isDelegationValidAt,
  validateDelegations,
  type Delegation,
} from '../../../lib/approval/delegation';

const away: Delegation = { from: 'E200', to: 'E250', validFrom: '2025-03-10', validTo: '2025-03-14' };
const at = (iso: string): Date => new Date(iso);

describe('delegation validity (whole days, inclusive, UTC)', () => {
  it.each([
    ['2025-03-09T23:59:59.999Z', false],
    ['2025-03-10T00:00:00.000Z', true],
    ['2025-03-12T12:00:00.000Z', true],
    ['2025-03-14T23:59:59.999Z', true],
    ['2025-03-15T00:00:00.000Z', false],
  ])('at %s valid = %s', (instant, expected) => {
    expect(isDelegationValidAt(away, at(instant))).toBe(expected);
  });

  it('covers a single day when validFrom equals validTo', () => {
    const oneDay = { ...away, validFrom: '2025-03-10', validTo: '2025-03-10' };
    expect(isDelegationValidAt(oneDay, at('2025-03-10T23:59:59.999Z'))).toBe(true);
    expect(isDelegationValidAt(oneDay, at('2025-03-11T00:00:00.000Z'))).toBe(false);
  });

  it('fails clearly on a malformed date instead of guessing', () => {
    expect(() => isDelegationValidAt({ ...away, validTo: '14.03.2025' }, at('2025-03-12T00:00:00Z'))).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message:
          'Delegation from E200 to E250: validTo "14.03.2025" is not a date; write it as YYYY-MM-DD, e.g. "2025-03-31".',
      }),
    );
  });
});

describe('authorityOf', () => {
  const noon = at('2025-03-12T12:00:00Z');

  it('allows the expected approver without a delegation', () => {
    expect(authorityOf('E200', 'E200', noon, [], 'E100', noon)).toEqual({ allowed: true });
  });

  it('allows a delegate valid at that instant and records whom they stand in for', () => {
    expect(authorityOf('E200', 'E250', noon, [away], 'E100', noon)).toEqual({ allowed: true, delegateOf: 'E200' });
  });

  it('refuses a delegate outside the validity days', () => {
    const result = authorityOf('E200', 'E250', at('2025-03-15T00:00:00Z'), [away], 'E100', at('2025-03-15T00:00:00Z'));
    expect(result).toEqual({
      allowed: false,
      reason:
        'E250 is not the expected approver E200 and holds no delegation from E200 valid at 2025-03-15T00:00:00.000Z',
    });
  });

  it("refuses a delegate's delegate: delegation goes one step only", () => {
    const onward: Delegation = { from: 'E250', to: 'E260', validFrom: '2025-03-01', validTo: '2025-03-31' };
    expect(authorityOf('E200', 'E260', noon, [away, onward], 'E100', noon).allowed).toBe(false);
  });

  it('refuses the submitter, even holding a delegation from the approver', () => {
    const toSubmitter: Delegation = { ...away, to: 'E100' };
    expect(authorityOf('E200', 'E100', noon, [toSubmitter], 'E100', noon)).toEqual({
      allowed: false,
      reason: 'E100 submitted the report and cannot decide on it',
    });
  });

  it('refuses someone with a delegation from another approver', () => {
    const other: Delegation = { ...away, from: 'E300' };
    expect(authorityOf('E200', 'E250', noon, [other], 'E100', noon).allowed).toBe(false);
  });
});

describe('delegatesOf', () => {
  it('lists each valid delegate once, leaving out the submitter and expired delegations', () => {
    const delegations: Delegation[] = [
      away,
      { ...away },
      { ...away, to: 'E100' },
      { ...away, to: 'E270', validFrom: '2025-01-01', validTo: '2025-01-31' },
      { ...away, to: 'E280' },
    ];
    expect(delegatesOf('E200', at('2025-03-12T12:00:00Z'), delegations, 'E100')).toEqual(['E250', 'E280']);
  });
});

describe('validateDelegations', () => {
  it('accepts good delegations', () => {
    expect(validateDelegations([away])).toEqual([]);
  });

  it('explains what is wrong with each delegation', () => {
    expect(
      validateDelegations([
        { from: 'E200', to: 'E200', validFrom: '2025-02-30', validTo: '2025-03-01' },
        { from: '', to: 'E250', validFrom: '2025-03-14', validTo: '2025-03-10' },
        'E250',
      ]),
    ).toEqual([
      { path: '[0].to', message: 'A person cannot delegate to themself.' },
      { path: '[0].validFrom', message: '"2025-02-30" is not a date; write it as YYYY-MM-DD, e.g. "2025-03-31".' },
      { path: '[1].from', message: 'Give the person id in "from".' },
      { path: '[1].validTo', message: 'validTo 2025-03-10 is before validFrom 2025-03-14.' },
      { path: '[2]', message: 'Each delegation must be an object with from, to, validFrom and validTo.' },
    ]);
    expect(validateDelegations({})).toEqual([
      { path: '', message: 'Delegations must be a list of { from, to, validFrom, validTo }.' },
    ]);
  });
});
