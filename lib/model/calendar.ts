/**
 * Calendar days on the host's clock. A Node-RED host runs in its company's time zone, and the company's
 * periods close on its own calendar: a report submitted at 23:30 on 31 March in New York belongs to March,
 * although Concur and Ramp write that moment as 03:30 UTC on 1 April. So a posting date, a budget period and
 * "today" are all read on this host's calendar, never on UTC's. `zone` (an IANA name) is for tests.
 */

const PLAIN_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** One formatter per zone: building one costs far more than formatting with it. */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

function dayFormat(zone: string): Intl.DateTimeFormat {
  let format = dayFormats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(zone, format);
  }
  return format;
}

/** The calendar day of `moment` on this host (or in `zone`), "YYYY-MM-DD". */
export function localDate(moment: Date, zone?: string): string {
  if (zone !== undefined) {
    const parts: Record<string, string> = {};
    for (const { type, value } of dayFormat(zone).formatToParts(moment)) parts[type] = value;
    return `${parts.year}-${parts.month}-${parts.day}`;
  }
  // The host's own zone: Date's local fields, several times cheaper than a formatter (this runs per event).
  const month = String(moment.getMonth() + 1).padStart(2, '0');
  const day = String(moment.getDate()).padStart(2, '0');
  return `${moment.getFullYear()}-${month}-${day}`;
}

/**
 * The calendar day of a date or date-time as a source wrote it: a plain date is a day already (an expense
 * date, an order date); a date-time (RFC 3339, with its offset, as the mapping keeps it) is the day this host
 * (or `zone`) was in at that moment.
 */
export function calendarDayOf(dateOrDateTime: string, zone?: string): string {
  if (PLAIN_DATE.test(dateOrDateTime)) return dateOrDateTime;
  const moment = new Date(dateOrDateTime);
  return Number.isNaN(moment.getTime()) ? dateOrDateTime : localDate(moment, zone);
}
