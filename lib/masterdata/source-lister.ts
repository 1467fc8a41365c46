/**
 * Master data owned by a source system (a finance-source with an API base URL): its API is read with the same
 * contract as the ERP's master data (lib/sandbox/API.md): `GET <path>` with `limit`, `cursor` and
 * `modifiedSince`, answering `{ "items": [...], "nextCursor": "..." | null }`. `{kind}` in the path is replaced
 * by the kind (employees, suppliers, costCenters, projects, glAccounts, taxCodes).
 */
import type { ErpHttp } from '../erp/client';
import type { CallContext } from '../erp/dialect';
import { FinanceError } from '../errors';
import type { MasterDataKind, MasterDataLister, MasterDataPage, MasterDataQuery, MasterRecord } from './kinds';

export function checkSourcePath(template: string): string {
  const trimmed = typeof template === 'string' ? template.trim() : '';
  if (!trimmed.startsWith('/') || !trimmed.includes('{kind}')) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The source's master data path "${trimmed}" must start with "/" and contain {kind}, e.g. /masterdata/{kind}.`,
      { details: { field: 'sourcePath' } },
    );
  }
  return trimmed;
}

export function sourceLister(http: ErpHttp, pathTemplate: string, system: string): MasterDataLister {
  const template = checkSourcePath(pathTemplate);
  return {
    async listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
      const { data } = await http.request<unknown>({
        method: 'GET',
        path: template.replace('{kind}', encodeURIComponent(kind)),
        query: { limit: query.limit, cursor: query.cursor ?? undefined, modifiedSince: query.modifiedSince },
        correlationId: ctx.correlationId,
      });
      const page = data as { items?: unknown; nextCursor?: unknown } | null;
      const nextCursor = page?.nextCursor ?? null;
      if (!page || !Array.isArray(page.items) || (nextCursor !== null && typeof nextCursor !== 'string')) {
        throw new FinanceError(
          'ERP_REJECTED',
          `The source ${system} answered the ${kind} listing without { items: [...], nextCursor }; check the ` +
            "master data path of the finance-master-data node and the source's API.",
          { details: { kind } },
        );
      }
      return { items: page.items as MasterRecord[], nextCursor };
    },
  };
}
