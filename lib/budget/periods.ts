/** Fiscal periods "YYYY-MM" from dates: budgets are kept per calendar month. */
import { FinanceError } from '../errors';

const DATE = /^(\d{4}-(0[1-9]|1[0-2]))-\d{2}/;

/** The period of a date "YYYY-MM-DD" (or a date-time, read as written, in the sender's time zone). */
export function periodOf(date: string, where: string): string {
  const match = DATE.exec(date);
  if (!match) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `${where} "${date}" is not a date such as 2026-03-31, so its budget period is unknown.`,
      { details: { path: where } },
    );
  }
  return match[1];
}

/** Today's date in UTC, "YYYY-MM-DD", from a clock in milliseconds. */
export function dateOf(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 10);
}
