import { matchesFilter, parseListQuery, parseSelection } from '../../../lib/reliability/dead-letter-filter';
import type { DeadLetter } from '../../../lib/reliability/dead-letters';

describe('list queries', () => {
  it('reads a filter from a message or a query string', () => {
    expect(parseListQuery(undefined)).toEqual({});
    expect(parseListQuery('')).toEqual({});
    expect(parseListQuery({ status: 'open', code: 'ERP_REJECTED', limit: 10 })).toEqual({
      status: 'open',
      code: 'ERP_REJECTED',
      limit: 10,
    });
    expect(
      parseListQuery({ status: '', code: '', limit: '25', since: '1740819600000', cursor: '1740819600000-0a0b0c0d' }),
    ).toEqual({ limit: 25, since: 1740819600000, cursor: '1740819600000-0a0b0c0d' });
    expect(parseListQuery({ since: '2025-03-01T09:00:00Z', source: 'coupa', docType: 'purchaseOrder' })).toEqual({
      since: Date.parse('2025-03-01T09:00:00Z'),
      source: 'coupa',
      docType: 'purchaseOrder',
    });
  });

  it.each([
    [{ stauts: 'open' }, /unknown field\(s\) stauts/],
    [{ status: 'closed' }, /status must be one of open, replayed, purged/],
    [{ limit: 0 }, /limit must be a whole number from 1 to 1000/],
    [{ limit: '5000' }, /limit must be a whole number from 1 to 1000/],
    [{ since: 'yesterday' }, /since must be a time/],
    [{ code: ['A', 'B'] }, /code must be text/],
    [{ cursor: 5 }, /cursor must be the nextCursor/],
    ['open', /must be an object/],
  ])('refuses %j', (input, message) => {
    expect(() => parseListQuery(input)).toThrow(message);
  });
});

describe('selections', () => {
  it('reads ids, one id, a filter, a wrapped filter and "all"', () => {
    expect(parseSelection({ ids: ['a', 'b', 'a'] }, 'replay')).toEqual({ ids: ['a', 'b'] });
    expect(parseSelection({ id: 'a' }, 'replay')).toEqual({ ids: ['a'] });
    expect(parseSelection({ code: 'ERP_TIMEOUT' }, 'purge')).toEqual({ filter: { code: 'ERP_TIMEOUT' } });
    expect(parseSelection({ filter: { status: 'replayed' } }, 'purge')).toEqual({ filter: { status: 'replayed' } });
    expect(parseSelection('all', 'replay')).toEqual({ filter: {} });
    expect(parseSelection({ all: true }, 'purge')).toEqual({ filter: {} });
  });

  it.each([
    [undefined, /Say which letters to replay/],
    [{}, /Say which letters to replay/],
    [{ filter: {} }, /Say which letters to replay/],
    [{ ids: [] }, /ids must be a list of 1 to 10000/],
    [{ ids: 'abc' }, /ids must be a list/],
    [{ ids: ['a', 3] }, /ids must be a list/],
    [{ ids: ['a'], code: 'X' }, /unknown field\(s\) code/],
    [{ all: 'yes' }, /unknown field\(s\) all/],
    [{ limit: 5 }, /unknown field\(s\) limit/],
  ])('refuses %j rather than guess', (input, message) => {
    expect(() => parseSelection(input, 'replay')).toThrow(message);
  });
});

describe('matchesFilter', () => {
  const letter = {
    id: '1740819600000-0a0b0c0d',
    createdAt: '2025-03-01T09:00:00.000Z',
    status: 'open',
    source: 'coupa',
    docType: 'purchaseOrder',
    error: { code: 'ERP_REJECTED', message: 'refused' },
  } as DeadLetter;

  it('matches every given criterion and ignores absent ones', () => {
    expect(matchesFilter(letter, {})).toBe(true);
    expect(matchesFilter(letter, { status: 'open', code: 'ERP_REJECTED', source: 'coupa' })).toBe(true);
    expect(matchesFilter(letter, { status: 'open', code: 'ERP_TIMEOUT' })).toBe(false);
    expect(matchesFilter(letter, { since: Date.parse(letter.createdAt) })).toBe(true);
    expect(matchesFilter(letter, { since: Date.parse(letter.createdAt) + 1 })).toBe(false);
  });
});
