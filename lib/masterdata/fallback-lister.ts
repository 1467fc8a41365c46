/**
 * The owner "the ERP, else the source": each kind is read from the ERP when its dialect publishes that kind,
 * and from the source when the dialect says it does not (`details.notPublished`, e.g. SAP has no employee
 * directory with managers and approval limits). So one pipeline runs on every ERP by changing only the
 * connection: on Business Central employees come from the ERP, on SAP from the expense source.
 */
import { FinanceError } from '../errors';
import type { MasterDataLister } from './kinds';

/** True for the refusal of a dialect that does not publish a kind at all (not for a failure of a call). */
export function isNotPublished(err: unknown): err is FinanceError {
  return err instanceof FinanceError && err.code === 'CONFIG_INVALID' && err.details?.notPublished === true;
}

export function erpElseSourceLister(erp: MasterDataLister, source: () => Promise<MasterDataLister>): MasterDataLister {
  return {
    listMasterData: async (kind, query, ctx) => {
      try {
        return await erp.listMasterData(kind, query, ctx);
      } catch (err) {
        if (!isNotPublished(err)) throw err;
        return (await source()).listMasterData(kind, query, ctx);
      }
    },
  };
}
