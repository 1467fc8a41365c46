/** Selections an operator gets wrong are refused, never widened to more letters than were meant. */
import { parseListQuery, parseSelection } from '../../../lib/reliability/dead-letter-filter';

describe('dead-letter selection input', () => {
  it('refuses id and ids together instead of silently dropping one', () => {
    for (const action of ['replay', 'purge'] as const) {
      expect(() => parseSelection({ id: '1740819600000-0a0b0c0d', ids: ['1740819600000-1a1b1c1d'] }, action)).toThrow(
        /either id or ids/,
      );
    }
    expect(parseSelection({ id: '1740819600000-0a0b0c0d' }, 'purge')).toEqual({ ids: ['1740819600000-0a0b0c0d'] });
  });

  it('refuses a since that is a year, a date without dashes or seconds since the epoch (it would select everything)', () => {
    for (const since of ['2025', 2025, '20250301', 1740819600, '1740819600']) {
      expect(() => parseSelection({ since, code: 'ERP_REJECTED' }, 'purge')).toThrow(/since .*milliseconds/);
      expect(() => parseListQuery({ since })).toThrow(/since .*milliseconds/);
    }
    expect(parseSelection({ since: 0, status: 'open' }, 'purge')).toEqual({ filter: { since: 0, status: 'open' } });
    expect(parseListQuery({ since: '1740819600000' })).toEqual({ since: 1740819600000 });
    expect(parseListQuery({ since: '2025-03-01' })).toEqual({ since: Date.parse('2025-03-01') });
  });
});
