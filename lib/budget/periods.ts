/** Fiscal periods "YYYY-MM" from dates: budgets are kept per calendar month. */
import { FinanceError } from '../errors';
import { calendarDayOf, localDate } from '../model/calendar';

const DATE = /^(\d{4}-(0[1-9]|1[0-2]))-\d{2}/;

/** The period of a date "YYYY-MM-DD", or of a date-time on this host's calendar (lib/model/calendar.ts). */
export function periodOf(date: string, where: string, zone?: string): string {
  const match = DATE.exec(calendarDayOf(date, zone));
  if (!match) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `${where} "${date}" is not a date such as 2026-03-31, so its budget period is unknown.`,
      { details: { path: where } },
    );
  }
  return match[1];
}

/** The date on this host's calendar, "YYYY-MM-DD", from a clock in milliseconds (as a posting's "today"). */
export function dateOf(nowMs: number, zone?: string): string {
  return localDate(new Date(nowMs), zone);
}
