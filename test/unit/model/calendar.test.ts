import { calendarDayOf, localDate } from '../../../lib/model/calendar';

describe('calendar days on the host clock', () => {
  it("reads the host's own zone the same way as the named zone it is in", () => {
    const hostZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (const moment of ['2026-03-31T23:30:00Z', '2026-04-01T03:30:00Z', '2026-12-31T23:59:59.999Z']) {
      expect(localDate(new Date(moment))).toBe(localDate(new Date(moment), hostZone));
    }
  });

  it('keeps a plain date as it is and reads a date-time on the calendar of the zone', () => {
    expect(calendarDayOf('2026-03-31', 'Asia/Tokyo')).toBe('2026-03-31');
    expect(calendarDayOf('2026-04-01T03:30:00Z', 'America/New_York')).toBe('2026-03-31');
    expect(calendarDayOf('2026-04-01T03:30:00Z', 'Asia/Tokyo')).toBe('2026-04-01');
    expect(calendarDayOf('2026-02-28T23:30:00-05:00', 'UTC')).toBe('2026-03-01');
  });
});
