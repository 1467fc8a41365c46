import { fullFormats } from 'ajv-formats/dist/formats';
import type { FormatDefinition } from 'ajv';
import { FAST_FORMATS, startsWithCalendarDate } from '../../../lib/model/formats';
import { validateDocument } from '../../../lib/model/validate';
import { canonicalReport } from '../mapping/samples';

type Check = (value: string) => boolean;
const fast = (name: 'date' | 'date-time'): Check => FAST_FORMATS[name].validate as Check;
const full = (name: 'date' | 'date-time'): Check => (fullFormats[name] as FormatDefinition<string>).validate as Check;

const DATES = [
  '2026-03-31',
  '2024-02-29',
  '2023-02-29',
  '2000-02-29',
  '1900-02-29',
  '2026-02-30',
  '2026-04-31',
  '2026-00-10',
  '2026-13-01',
  '2026-12-00',
  '2026-12-32',
  '0000-01-01',
  '9999-12-31',
  '2026-1-01',
  '2026-01-1',
  '26-01-01',
  '2026/01/01',
  '2026-01-01 ',
  ' 2026-01-01',
  '2026-01-01T00:00:00Z',
  '２０２６-01-01',
  '2026-0a-01',
  'abcd-ef-gh',
  '',
];

const TIMES = [
  '00:00:00',
  '23:59:59',
  '12:30:45.5',
  '12:30:45.123456789',
  '24:00:00',
  '23:60:00',
  '23:59:60',
  '12:30:60',
  '12:30:45.',
  '12:30',
  '1:30:45',
];
const ZONES = ['Z', 'z', '+02:00', '-05:30', '+23:59', '+24:00', '+02:60', '+0200', '+02', '', ' Z', '+2:00'];
const SEPARATORS = ['T', 't', ' '];

describe('FAST_FORMATS: the same verdict as ajv-formats, faster for the common shapes', () => {
  it('date: every date shape gets the verdict ajv-formats gives', () => {
    for (const value of DATES) expect([value, fast('date')(value)]).toEqual([value, full('date')(value)]);
  });

  it('date-time: every combination of date, separator, time and zone gets the verdict ajv-formats gives', () => {
    let checked = 0;
    for (const date of ['2026-03-31', '2024-02-29', '2023-02-29', '2026-13-01'])
      for (const separator of SEPARATORS)
        for (const time of TIMES)
          for (const zone of ZONES) {
            const value = `${date}${separator}${time}${zone}`;
            expect([value, fast('date-time')(value)]).toEqual([value, full('date-time')(value)]);
            checked += 1;
          }
    expect(checked).toBe(4 * SEPARATORS.length * TIMES.length * ZONES.length);
  });

  it('leap seconds are left to ajv-formats, which allows them at 23:59 UTC only', () => {
    expect(fast('date-time')('2016-12-31T23:59:60Z')).toBe(true);
    expect(fast('date-time')('2016-12-31T23:59:60+01:00')).toBe(false);
    expect(fast('date-time')('2016-12-31T22:59:60-01:00')).toBe(true);
  });

  it('random changes of valid values get the verdict ajv-formats gives', () => {
    // A fixed seed keeps the run repeatable; every character class the checks look at is in the alphabet.
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const alphabet = '0123456789-:.+TZtz x';
    const bases = ['2026-03-31', '2026-03-31T12:00:00Z', '2024-02-29T23:59:59.999+02:00', '2026-03-31T12:00:00-05:30'];
    let accepted = 0;
    const differing: string[] = [];
    for (let round = 0; round < 20_000; round += 1) {
      const base = bases[round % bases.length]!;
      const chars = [...base];
      const edits = 1 + Math.floor(next() * 2);
      for (let edit = 0; edit < edits; edit += 1) {
        const at = Math.floor(next() * chars.length);
        const what = next();
        const char = alphabet[Math.floor(next() * alphabet.length)]!;
        if (what < 0.6) chars[at] = char;
        else if (what < 0.8) chars.splice(at, 1);
        else chars.splice(at, 0, char);
      }
      const value = chars.join('');
      for (const name of ['date', 'date-time'] as const) {
        const verdict = full(name)(value);
        if (fast(name)(value) !== verdict) differing.push(`${name} ${JSON.stringify(value)}: ajv-formats ${verdict}`);
        if (verdict) accepted += 1;
      }
    }
    expect(differing).toEqual([]);
    // Both verdicts occur, so the comparison covered acceptance and refusal alike.
    expect(accepted).toBeGreaterThan(1000);
    expect(accepted).toBeLessThan(30_000);
  });

  it('startsWithCalendarDate reads only the first ten characters', () => {
    expect(startsWithCalendarDate('2024-02-29T10:00:00Z')).toBe(true);
    expect(startsWithCalendarDate('2023-02-29T10:00:00Z')).toBe(false);
    expect(startsWithCalendarDate('2024-02-2')).toBe(false);
  });

  it('the canonical schemas use them: a document with an impossible date is still refused', () => {
    const report = canonicalReport();
    expect(validateDocument('ExpenseReport', report)).toEqual({ valid: true });
    const wrongDay = canonicalReport();
    wrongDay.lines[0].date = '2026-02-30';
    expect(validateDocument('ExpenseReport', wrongDay)).toMatchObject({
      valid: false,
      errors: [expect.objectContaining({ path: '/lines/0/date' })],
    });
    const noZone = { ...report, submittedAt: '2026-03-31T12:00:00' };
    expect(validateDocument('ExpenseReport', noZone)).toMatchObject({
      valid: false,
      errors: [expect.objectContaining({ path: '/submittedAt' })],
    });
  });
});
