/**
 * The company's Fiscal Year documents (any start month, any name, e.g. "2026-2027"), found as ERPNext's
 * get_fiscal_year finds them (not disabled, listing no company or this one in Fiscal Year Company, the latest
 * start first) [S erpnext accounts/utils.py]; read once and kept for FISCAL_YEARS_TTL_MS.
 */
import { FinanceError } from '../../errors';
import type { CallContext } from '../dialect';
import type { FrappeClient } from './frappe-client';
import { isDate } from './shared';

/**
 * How long the Fiscal Year list is kept: ERPNext adds a year about once a year, and a year's dates cannot change
 * (year_start_date / year_end_date are set_only_once [S fiscal_year.json]). A date in no kept year reads the
 * list again (at most every FISCAL_YEARS_REREAD_MS), so a year created in ERPNext is seen at the next check.
 */
export const FISCAL_YEARS_TTL_MS = 6 * 60 * 60 * 1000;
export const FISCAL_YEARS_REREAD_MS = 30 * 1000;

export interface FiscalYear {
  name: string;
  start: string;
  end: string;
}

export class FiscalYears {
  readonly #api: FrappeClient;
  readonly #system: string;
  readonly #company: string;
  #fiscalYears?: { readAt: number; years: Promise<FiscalYear[]> };

  constructor(api: FrappeClient, system: string, company: string) {
    this.#api = api;
    this.#system = system;
    this.#company = company;
  }

  /**
   * The company's fiscal year that holds `date` and all the company's fiscal years (latest start first), from
   * the kept list; a list older than FISCAL_YEARS_TTL_MS is read again, and so is one without the date (if it
   * is older than FISCAL_YEARS_REREAD_MS). No year holds it: ERP_NOT_FOUND (NO_FISCAL_YEAR), as ERPNext's own
   * FiscalYearError.
   */
  async yearOf(date: string, ctx: CallContext): Promise<{ year: FiscalYear; years: FiscalYear[] }> {
    let kept = this.#fiscalYears;
    if (!kept || Date.now() - kept.readAt >= FISCAL_YEARS_TTL_MS) kept = this.#readFiscalYears(ctx);
    let years = await kept.years;
    let year = years.find((fy) => fy.start <= date && date <= fy.end);
    if (!year && Date.now() - kept.readAt >= FISCAL_YEARS_REREAD_MS) {
      years = await this.#readFiscalYears(ctx).years;
      year = years.find((fy) => fy.start <= date && date <= fy.end);
    }
    if (!year) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#system}" (ERPNext) has no active Fiscal Year for company ${this.#company} that holds ${date}. Create it in ERPNext (Accounting > Fiscal Year: Year Start Date on or before ${date}, Year End Date on or after it, and no Companies listed or ${this.#company} among them), or enable it if it is disabled; then retry.`,
        { retryable: false, details: { vendorCode: 'NO_FISCAL_YEAR', date, company: this.#company } },
      );
    }
    return { year, years };
  }

  /**
   * GET the Fiscal Year list with its Fiscal Year Company rows (a left join: one row per listed company, one row
   * with company null for a year that lists none), kept as the company's years; a failed read is not kept.
   */
  #readFiscalYears(ctx: CallContext): { readAt: number; years: Promise<FiscalYear[]> } {
    const years = (async () => {
      const rows = await this.#api.list(
        'Fiscal Year',
        {
          filters: [['disabled', '=', 0]],
          fields: ['name', 'year_start_date', 'year_end_date', '`tabFiscal Year Company`.company as company'],
          orderBy: 'year_start_date desc',
          limit: 0,
        },
        ctx,
      );
      const byName = new Map<string, FiscalYear & { companies: Set<string>; forAll: boolean }>();
      for (const row of rows) {
        const name = row.name;
        const start = row.year_start_date;
        const end = row.year_end_date;
        if (typeof name !== 'string' || !isDate(start) || !isDate(end))
          throw this.#api.unexpected('the Fiscal Year list', 'a row without name, year_start_date or year_end_date');
        const year = byName.get(name) ?? { name, start, end, companies: new Set<string>(), forAll: false };
        if (typeof row.company === 'string' && row.company !== '') year.companies.add(row.company);
        else year.forAll = true;
        byName.set(name, year);
      }
      return [...byName.values()]
        .filter((fy) => fy.forAll || fy.companies.has(this.#company))
        .sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : 0))
        .map(({ name, start, end }) => ({ name, start, end }));
    })();
    const kept = { readAt: Date.now(), years };
    this.#fiscalYears = kept;
    years.catch(() => {
      if (this.#fiscalYears === kept) this.#fiscalYears = undefined;
    });
    return kept;
  }
}
