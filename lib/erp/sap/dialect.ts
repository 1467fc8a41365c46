/**
 * SAP S/4HANA, OData v2 service API_PURCHASEORDER_PROCESS_SRV (DESIGN section 9; README "SAP S/4HANA").
 *
 * URL: {baseUrl}{servicePath}/A_PurchaseOrder... with servicePath /sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV
 * and `sap-client` on every request when set. Authentication (basic, or OAuth2 where the landscape offers it)
 * is the connection's; this dialect adds what SAP Gateway demands on top [D SAP KBA 3048103]:
 * - before the first write a GET with `X-CSRF-Token: Fetch` gets the token and the session cookies; writes
 *   send both; a 403 (token expired with the session) fetches them again and repeats the write once;
 * - create is one deep insert of A_PurchaseOrder with `to_PurchaseOrderItem` and each item's
 *   `to_AccountAssignment` [S EDMX navigation; U v2 deep-insert JSON `{results: [...]}`]; change is PATCH with
 *   If-Match (the entity's `__metadata.etag`); changed lines are deleted (deletion code L) and added again;
 *   cancel is DELETE of the purchase order, which sets its deletion code [U, see API.md];
 * - a line's tax code is the item's `TaxCode` (2 characters, upper case) [S EDMX]; a longer one is refused;
 * - the lookup key is `CorrespncExternalReference` ("Your Reference", 12 characters, letter case kept: no
 *   UpperCase display format) [S], holding the reference, or a digest of it when longer (lib/erp/reference.ts);
 * - errors keep `error.code`, `message.value` and `innererror.errordetails` (in details.erpMessages);
 *   availability-control refusals (BP/604, FCO_AVC_*) also carry details.budget = { status: 'exceeded' }.
 * The organisational data a PO needs (purchasing organisation and group, plant, material group, order
 * type) comes from the connection's options.
 *
 * What API_PURCHASEORDER_PROCESS_SRV does not offer comes from other SAP services below the same OData root
 * (documentation only, no EDMX in specs; see their modules):
 * - budget: no funds check call. budgetControl is `at-creation`: availability control checks the PO when it
 *   is saved; a refusal is ERP_REJECTED with details.budget (lib/purchasing/budget-refusal.ts turns it into
 *   budget_exceeded), its tolerance warnings come in the `sap-message` header and are kept as
 *   budgetWarnings (PurchaseOrderRef on create, ErpPurchaseOrder after a change). checkBudget itself still
 *   refuses (CONFIG_INVALID).
 * - postings: supplier invoices with G/L account items, API_SUPPLIERINVOICE_PROCESS_SRV (supplier-invoice.ts);
 * - master data: suppliers, cost centers and G/L accounts (master-data.ts); projects and tax codes are left
 *   to SAP at the write, employees to another owner (HR, the expense source): CONFIG_INVALID with
 *   details.notPublished.
 */
import { FinanceError, isFinanceError } from '../../errors';
import { exponentOf, fromMinorUnits, minorOf, money, multiply, splitByPercent } from '../../model/money';
import { currencyExponent } from '../../model/currencies';
import type { ErpMessage, ErpRef, MasterDataKind, Money, PurchaseOrder, PurchaseOrderLine } from '../../model/types';
import type { ErpHttp } from '../client';
import type {
  BudgetAvailability,
  CallContext,
  DialectConfig,
  ErpDialect,
  ErpDocumentType,
  ErpPurchaseOrder,
  FoundDocument,
  MasterDataPage,
  MasterDataQuery,
  PostingRef,
  PostingRequest,
  PurchaseOrderKey,
  PurchaseOrderPatch,
  PurchaseOrderRef,
} from '../dialect';
import { isFinalRefusal, notPutBack } from '../http-errors';
import { isRecord } from '../records';
import { fitReference } from '../reference';
import {
  fitDecimal,
  netValueMinor,
  parseDecimal,
  priceForAmount,
  priceUnitOf,
  sameRatio,
  SAP_DECIMALS,
  unitPriceMinor,
  type Decimal,
} from './decimals';
import { listSapMasterData, SAP_MASTER_DATA_SERVICES, type SapMasterDataConfig } from './master-data';
import { budgetWarningsOf, odataString, sapMessagesOf, SapService } from './service';
import {
  findSupplierInvoice,
  findSupplierInvoicePosting,
  postSupplierInvoice,
  SUPPLIER_INVOICE_SERVICE,
  type SupplierInvoiceConfig,
} from './supplier-invoice';

type Entity = Record<string, unknown>;

/** MaxLength of the properties this dialect writes [S API_PURCHASEORDER_PROCESS_SRV.edmx]. */
export const SAP_LENGTHS = {
  CorrespncExternalReference: 12,
  Supplier: 10,
  PurchaseOrderItemText: 40,
  PurchaseOrderQuantityUnit: 3,
  GLAccount: 10,
  CostCenter: 10,
  WBSElement: 24,
  /** A_PurchaseOrderItem TaxCode, "Tax on sales/purchases code", upper case. */
  TaxCode: 2,
} as const;

export const DEFAULT_SERVICE_PATH = '/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV';
const EXPAND = 'to_PurchaseOrderItem,to_PurchaseOrderItem/to_AccountAssignment';

export function createSapDialect(http: ErpHttp, config: DialectConfig): ErpDialect {
  return new SapDialect(http, config);
}

interface SapItem {
  PurchaseOrderItem: string;
  PurchaseOrderItemText: string;
  Plant: string;
  MaterialGroup: string;
  OrderQuantity: string;
  PurchaseOrderQuantityUnit: string;
  NetPriceAmount: string;
  NetPriceQuantity: string;
  AccountAssignmentCategory: string;
  MultipleAcctAssgmtDistribution?: string;
  TaxCode?: string;
  to_AccountAssignment: { results: Entity[] };
}

class SapDialect implements ErpDialect {
  readonly name = 'sap';
  readonly budgetControl = 'at-creation' as const;
  readonly #system: string;
  readonly #companyCode: string;
  readonly #servicePath: string;
  readonly #client?: string;
  readonly #org: {
    purchaseOrderType: string;
    purchasingOrganization: string;
    purchasingGroup: string;
    plant: string;
    materialGroup: string;
  };
  readonly #po: SapService;
  readonly #invoices: SupplierInvoiceConfig;
  readonly #masterData: SapMasterDataConfig;

  constructor(http: ErpHttp, config: DialectConfig) {
    const options = config.options ?? {};
    const where = `ERP connection "${config.name ?? 'erp'}" (SAP S/4HANA)`;
    this.#system = config.name ?? 'sap';
    this.#companyCode = required(config.company, 'company (the SAP company code, 4 characters)', where);
    if (this.#companyCode.length > 4)
      throw new FinanceError('CONFIG_INVALID', `${where}: the company code has at most 4 characters.`);
    const servicePath = (options.servicePath?.trim() || DEFAULT_SERVICE_PATH).replace(/\/+$/, '');
    if (!servicePath.startsWith('/'))
      throw new FinanceError(
        'CONFIG_INVALID',
        `${where}: the service path must start with "/", e.g. ${DEFAULT_SERVICE_PATH}.`,
      );
    this.#servicePath = servicePath;
    const client = options.sapClient?.trim();
    if (client !== undefined && client !== '' && !/^\d{3}$/.test(client)) {
      throw new FinanceError('CONFIG_INVALID', `${where}: the SAP client is three digits, e.g. 100.`);
    }
    this.#client = client || undefined;
    this.#po = new SapService({
      http,
      system: this.#system,
      path: servicePath,
      client: this.#client,
      scenario: 'SAP_COM_0053',
    });
    // The other services live below the same OData root as the purchase order service.
    const root = servicePath.slice(0, servicePath.lastIndexOf('/'));
    const service = (name: string, scenario: string) =>
      new SapService({ http, system: this.#system, path: `${root}/${name}`, client: this.#client, scenario });
    this.#invoices = {
      system: this.#system,
      companyCode: this.#companyCode,
      service: service(SUPPLIER_INVOICE_SERVICE, 'SAP_COM_0057'),
    };
    this.#masterData = {
      system: this.#system,
      companyCode: this.#companyCode,
      chartOfAccounts: options.chartOfAccounts?.trim() || 'YCOA',
      services: {
        suppliers: service(SAP_MASTER_DATA_SERVICES.suppliers, 'SAP_COM_0008'),
        costCenters: service(SAP_MASTER_DATA_SERVICES.costCenters, 'SAP_COM_0179'),
        glAccounts: service(SAP_MASTER_DATA_SERVICES.glAccounts, 'SAP_COM_0087'),
      },
    };
    this.#org = {
      purchaseOrderType: options.purchaseOrderType?.trim() || 'NB',
      purchasingOrganization: required(options.purchasingOrganization, 'purchasingOrganization', where),
      purchasingGroup: required(options.purchasingGroup, 'purchasingGroup', where),
      plant: required(options.plant, 'plant', where),
      materialGroup: required(options.materialGroup, 'materialGroup (for items without a material)', where),
    };
  }

  // ---- budget, postings, master data: other services or none ---------------------------------------

  checkBudget(): Promise<BudgetAvailability> {
    return Promise.reject(
      new FinanceError(
        'CONFIG_INVALID',
        `ERP "${this.#system}" (SAP S/4HANA) has no funds check call: availability control checks a purchase order when it is saved, and its refusals (BP/604, FCO_AVC_*) come back as ERP_REJECTED with details.budget. finance-budget-check reports such a connection as "deferred".`,
      ),
    );
  }

  post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    return postSupplierInvoice(this.#invoices, posting, ctx);
  }

  listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
    return listSapMasterData(this.#masterData, kind, query, ctx);
  }

  // ---- purchase orders ---------------------------------------------------------------------------

  async upsertPurchaseOrder(po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    const known = po.erpRef?.documentId ?? (await this.#find(po.externalReference, ctx))?.PurchaseOrder;
    if (known !== undefined) return this.#update(String(known), po, ctx);
    const body = {
      CompanyCode: this.#companyCode,
      PurchaseOrderType: this.#org.purchaseOrderType,
      Supplier: checkLength(po.supplierId, SAP_LENGTHS.Supplier, 'supplierId'),
      PurchasingOrganization: this.#org.purchasingOrganization,
      PurchasingGroup: this.#org.purchasingGroup,
      PurchaseOrderDate: sapDate(po.orderDate),
      DocumentCurrency: po.currency,
      CorrespncExternalReference: this.#reference(po.externalReference),
      to_PurchaseOrderItem: { results: this.#items(po.lines, 0) },
    };
    const response = await this.#po.write({ method: 'POST', path: `${this.#servicePath}/A_PurchaseOrder`, body }, ctx);
    const created = this.#d(response.data, 'the created purchase order');
    const budgetWarnings = budgetWarningsOf(sapMessagesOf(response));
    return {
      ...this.#ref(created),
      action: 'created',
      version: etagOf(created),
      ...(budgetWarnings.length > 0 ? { budgetWarnings } : {}),
    };
  }

  async #update(number: string, po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    for (let attempt = 0; ; attempt += 1) {
      const current = await this.#fetch(number, ctx);
      const header = changed(current, {
        Supplier: po.supplierId,
        PurchaseOrderDate: sapDate(po.orderDate),
        DocumentCurrency: po.currency,
      });
      const items = this.#items(po.lines, 0);
      const itemsChanged = !sameItems(activeItems(current), items);
      if (Object.keys(header).length === 0 && !itemsChanged) {
        return { ...this.#ref(current), action: 'unchanged', version: etagOf(current) };
      }
      try {
        const { entity: updated, budgetWarnings } = await this.#apply(
          number,
          current,
          header,
          itemsChanged ? po.lines : undefined,
          etagOf(current),
          ctx,
        );
        return {
          ...this.#ref(updated),
          action: 'updated',
          version: etagOf(updated),
          ...(budgetWarnings.length > 0 ? { budgetWarnings } : {}),
        };
      } catch (error) {
        if (attempt > 0 || !isStale(error)) throw error;
      }
    }
  }

  /**
   * PATCH of the header with If-Match (an empty one when only lines change), then items replaced: the old ones
   * deleted (deletion code L) and the new ones added, one request each. A refusal part-way (availability
   * control, a bad account or WBS element) would leave the order with the new header and only some items of
   * either version, while the pack still records the old version as applied; so the order is put back as it was
   * (#restore) and the refusal thrown as it came. SAP's own answer to this is a $batch changeset (one LUW);
   * this dialect does not send $batch yet.
   */
  async #apply(
    number: string,
    current: Entity,
    header: Entity,
    lines: readonly PurchaseOrderLine[] | undefined,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<{ entity: Entity; budgetWarnings: ErpMessage[] }> {
    const path = `${this.#servicePath}/A_PurchaseOrder('${number}')`;
    // Checked before anything is written; numbered after every item the order ever had (deleted ones keep theirs).
    const items = lines === undefined ? undefined : this.#items(lines, highestItem(allItems(current)));
    // Availability control judges the whole order on every write; the last write's warnings are the final word.
    let budgetWarnings = budgetWarningsOf(
      sapMessagesOf(await this.#po.write({ method: 'PATCH', path, body: header, ifMatch }, ctx)),
    );
    if (items !== undefined) {
      const removed: Entity[] = [];
      try {
        for (const item of activeItems(current)) {
          await this.#po.write({ method: 'DELETE', path: this.#itemPath(number, item), ifMatch: etagOf(item) }, ctx);
          removed.push(item);
        }
        for (const item of items) {
          const response = await this.#po.write(
            { method: 'POST', path: `${path}/to_PurchaseOrderItem`, body: item },
            ctx,
          );
          budgetWarnings = budgetWarningsOf(sapMessagesOf(response));
        }
      } catch (error) {
        // Any other failure may have been applied: the retry of the whole change replaces the items again.
        if (!isFinalRefusal(error)) throw error;
        throw await this.#restore(number, current, header, removed, error, ctx);
      }
    }
    return { entity: await this.#fetch(number, ctx), budgetWarnings };
  }

  /**
   * Puts an order back as `current` held it after a change failed part-way: the items added since are deleted
   * (read again, so an item whose POST answered with an error but was saved goes too), the header fields the
   * change patched get their old values back, and the old items that were deleted are added again (they fitted
   * before). A header field that no longer holds the change's value was changed by someone else meanwhile and
   * is left as it is. Answers the error to throw: the refusal as it came, or, when the order could not be put
   * back, one that says so.
   */
  async #restore(
    number: string,
    current: Entity,
    header: Entity,
    removed: Entity[],
    refusal: FinanceError,
    ctx: CallContext,
  ): Promise<FinanceError> {
    const path = `${this.#servicePath}/A_PurchaseOrder('${number}')`;
    const old = new Set(allItems(current).map((item) => String(item.PurchaseOrderItem)));
    try {
      const now = await this.#fetch(number, ctx);
      for (const item of activeItems(now).filter((each) => !old.has(String(each.PurchaseOrderItem)))) {
        await this.#po.write({ method: 'DELETE', path: this.#itemPath(number, item), ifMatch: etagOf(item) }, ctx);
      }
      const back = Object.keys(header).filter((name) => now[name] === header[name] && now[name] !== current[name]);
      let headerError: unknown;
      if (back.length > 0) {
        try {
          // Every item written changes the order's ETag: the PATCH needs the one SAP holds now.
          const latest = await this.#fetch(number, ctx);
          const body = Object.fromEntries(back.map((name) => [name, current[name]]));
          await this.#po.write({ method: 'PATCH', path, body, ifMatch: etagOf(latest) }, ctx);
        } catch (error) {
          headerError = error; // the old items are still added back: an order without its lines is worse
        }
      }
      const currency = String(current.DocumentCurrency);
      const lines = removed.map((item) => this.#canonicalLine(item, currency));
      for (const item of this.#items(lines, highestItem(allItems(now)))) {
        await this.#po.write({ method: 'POST', path: `${path}/to_PurchaseOrderItem`, body: item }, ctx);
      }
      if (headerError !== undefined) throw headerError;
      return refusal;
    } catch (restoreError) {
      return notPutBack(
        refusal,
        restoreError,
        `check purchase order ${number} in SAP (supplier, dates and items) against the last version the pack applied.`,
      );
    }
  }

  #itemPath(number: string, item: Entity): string {
    return `${this.#servicePath}/A_PurchaseOrderItem(PurchaseOrder='${number}',PurchaseOrderItem='${String(item.PurchaseOrderItem)}')`;
  }

  async cancelPurchaseOrder(key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef> {
    const number = key.documentId ?? (await this.#find(key.externalReference, ctx))?.PurchaseOrder;
    if (number === undefined) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#system}" has no purchase order with Your Reference ${this.#reference(key.externalReference)} (external reference "${key.externalReference}"), so there is nothing to cancel.`,
        { details: { externalReference: key.externalReference } },
      );
    }
    for (let attempt = 0; ; attempt += 1) {
      const current = await this.#fetch(String(number), ctx);
      if (current.PurchasingDocumentDeletionCode === 'L') return this.#ref(current);
      try {
        await this.#po.write(
          {
            method: 'DELETE',
            path: `${this.#servicePath}/A_PurchaseOrder('${String(number)}')`,
            ifMatch: etagOf(current),
          },
          ctx,
        );
        return this.#ref(await this.#fetch(String(number), ctx));
      } catch (error) {
        if (attempt > 0 || !isStale(error)) throw error;
      }
    }
  }

  async findByReference(
    documentType: ErpDocumentType,
    externalReference: string,
    ctx: CallContext,
  ): Promise<FoundDocument | null> {
    if (documentType === 'posting') return findSupplierInvoice(this.#invoices, externalReference, ctx);
    const found = await this.#find(externalReference, ctx);
    return found ? { ...this.#ref(found), raw: found } : null;
  }

  /** The ledger's lookup of a posting: a supplier invoice found must be this posting (findSupplierInvoicePosting). */
  findPosting(posting: PostingRequest, ctx: CallContext): Promise<FoundDocument | null> {
    return findSupplierInvoicePosting(this.#invoices, posting, ctx);
  }

  async getPurchaseOrder(documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
    return this.#canonical(await this.#fetch(documentId, ctx));
  }

  async patchPurchaseOrder(
    documentId: string,
    patch: PurchaseOrderPatch,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<ErpPurchaseOrder> {
    const current = await this.#fetch(documentId, ctx);
    const header: Entity = {};
    if (patch.supplierId !== undefined) header.Supplier = patch.supplierId;
    if (patch.orderDate !== undefined) header.PurchaseOrderDate = sapDate(patch.orderDate);
    if (patch.currency !== undefined) header.DocumentCurrency = patch.currency;
    const { entity, budgetWarnings } = await this.#apply(documentId, current, header, patch.lines, ifMatch, ctx);
    return { ...this.#canonical(entity), ...(budgetWarnings.length > 0 ? { budgetWarnings } : {}) };
  }

  /**
   * Your Reference as sent and looked up: the reference in its own letter case. CorrespncExternalReference has
   * no sap:display-format="UpperCase" in the EDMX (DocumentCurrency, Supplier have it), so SAP keeps and compares
   * it as written; upper-casing it would give coupa:po-1 and coupa:PO-1 one purchase order.
   */
  #reference(externalReference: string): string {
    return fitReference(externalReference, SAP_LENGTHS.CorrespncExternalReference);
  }

  /** Items numbered from `after` + 10 in steps of 10; a split line is distributed by amount (indicator 3). */
  #items(lines: readonly PurchaseOrderLine[], after: number): SapItem[] {
    return lines.map((line, index) => {
      const where = `lines[${index}]`;
      checkLength(line.description, SAP_LENGTHS.PurchaseOrderItemText, `${where}.description`);
      const split = line.accountAssignments.length > 1;
      const amounts = !split
        ? [line.amount]
        : line.accountAssignments.every((a) => a.percent !== undefined)
          ? splitByPercent(
              line.amount,
              line.accountAssignments.map((a) => a.percent as string),
              `${where}.accountAssignments`,
            )
          : line.accountAssignments.map((a, i) => {
              if (!a.amount) throw invalidPo(`${where}.accountAssignments[${i}] needs a percent or an amount`);
              return a.amount;
            });
      const project = line.accountAssignments.some((a) => a.dimensions.project);
      return {
        PurchaseOrderItem: String(after + (index + 1) * 10),
        PurchaseOrderItemText: line.description,
        Plant: this.#org.plant,
        MaterialGroup: this.#org.materialGroup,
        OrderQuantity: fitDecimal(
          line.quantity,
          SAP_DECIMALS.OrderQuantity,
          {
            property: 'OrderQuantity',
            where: `${where}.quantity`,
            remedy: 'Round the quantity in the source system, or order in a smaller unit of measure (e.g. G, not KG).',
          },
          invalidPo,
        ),
        PurchaseOrderQuantityUnit: checkLength(
          line.unitOfMeasure ?? 'EA',
          SAP_LENGTHS.PurchaseOrderQuantityUnit,
          `${where}.unitOfMeasure`,
        ),
        ...sapPrice(line, where),
        // K = cost center, P = project (WBS element) [U category codes of a standard configuration].
        AccountAssignmentCategory: project ? 'P' : 'K',
        ...(split ? { MultipleAcctAssgmtDistribution: '3' } : {}),
        ...itemTaxCode(line.taxCode, `${where}.taxCode`),
        to_AccountAssignment: {
          results: line.accountAssignments.map((assignment, i) => {
            const d = assignment.dimensions;
            if (!d.glAccount)
              throw invalidPo(`${where}.accountAssignments[${i}]: a G/L account (dimensions.glAccount) is required`);
            if (!d.costCenter && !d.project)
              throw invalidPo(`${where}.accountAssignments[${i}]: a cost center or a project is required`);
            return {
              AccountAssignmentNumber: String(i + 1).padStart(2, '0'),
              GLAccount: checkLength(d.glAccount, SAP_LENGTHS.GLAccount, `${where}.glAccount`),
              ...(d.costCenter
                ? { CostCenter: checkLength(d.costCenter, SAP_LENGTHS.CostCenter, `${where}.costCenter`) }
                : {}),
              ...(d.project ? { WBSElement: checkLength(d.project, SAP_LENGTHS.WBSElement, `${where}.project`) } : {}),
              ...(split
                ? {
                    PurgDocNetAmount: fitDecimal(
                      amounts[i].amount,
                      SAP_DECIMALS.PurgDocNetAmount,
                      {
                        property: 'PurgDocNetAmount',
                        where: `${where}.accountAssignments[${i}].amount`,
                        remedy: 'Split the line into smaller lines.',
                      },
                      invalidPo,
                    ),
                  }
                : {}),
            };
          }),
        },
      };
    });
  }

  #canonical(entity: Entity): ErpPurchaseOrder {
    const currency = String(entity.DocumentCurrency);
    const lines = activeItems(entity).map((item) => this.#canonicalLine(item, currency));
    const total = lines.reduce((sum, line) => sum + minorOf(line.amount), 0n);
    return {
      erpRef: this.#ref(entity),
      externalReference: String(entity.CorrespncExternalReference ?? ''),
      supplierId: String(entity.Supplier),
      orderDate: isoDate(entity.PurchaseOrderDate),
      currency,
      total: fromMinorUnits(total, currency),
      status: entity.PurchasingDocumentDeletionCode === 'L' ? 'cancelled' : 'open',
      lines,
    };
  }

  #canonicalLine(item: Entity, currency: string): PurchaseOrderLine {
    const { quantity, unitPrice, amount } = this.#priced(item, currency);
    const assignments =
      isRecord(item.to_AccountAssignment) && Array.isArray(item.to_AccountAssignment.results)
        ? item.to_AccountAssignment.results.filter(isRecord)
        : [];
    const split = assignments.length > 1;
    return {
      lineId: String(item.PurchaseOrderItem),
      description: String(item.PurchaseOrderItemText ?? ''),
      ...(typeof item.TaxCode === 'string' && item.TaxCode !== '' ? { taxCode: item.TaxCode } : {}),
      quantity,
      unitOfMeasure: String(item.PurchaseOrderQuantityUnit),
      unitPrice,
      amount,
      accountAssignments: assignments.map((a) => ({
        dimensions: {
          glAccount: String(a.GLAccount),
          ...(a.CostCenter ? { costCenter: String(a.CostCenter) } : {}),
          ...(a.WBSElement ? { project: String(a.WBSElement) } : {}),
        },
        ...(split ? { amount: money(scaled(String(a.PurgDocNetAmount), currency), currency) } : {}),
      })),
    };
  }

  /**
   * Quantity, price of one unit and net value of an item. SAP's price is per price unit (NetPriceQuantity):
   * 50.00 per 100 pieces for 1000 pieces is 0.50 a piece and 500.00, not 50.00 and 50000.00. The net value is
   * computed from SAP's figures, so it is right even when the price of one piece is not a whole cent
   * (1.00 per 3 pieces: unit price 0.33 rounded, 3 pieces 1.00).
   */
  #priced(item: Entity, currency: string): { quantity: string; unitPrice: Money; amount: Money } {
    const exponent = exponentOf(currency, 'DocumentCurrency');
    const what = `purchase order item ${String(item.PurchaseOrderItem)}`;
    const price = parseDecimal(String(item.NetPriceAmount));
    if (!price) throw this.#unexpected(what, `NetPriceAmount "${String(item.NetPriceAmount)}" is not a decimal`);
    const quantity = parseDecimal(String(item.OrderQuantity));
    if (!quantity) throw this.#unexpected(what, `OrderQuantity "${String(item.OrderQuantity)}" is not a decimal`);
    const priceUnit = priceUnitOf(item.NetPriceQuantity);
    return {
      quantity: plainDecimal(String(item.OrderQuantity)),
      unitPrice: fromMinorUnits(unitPriceMinor(price, priceUnit, exponent).minor, currency),
      amount: fromMinorUnits(netValueMinor(price, quantity, priceUnit, exponent), currency),
    };
  }

  #ref(entity: Entity): ErpRef {
    const metadata = isRecord(entity.__metadata) ? entity.__metadata : {};
    return {
      system: this.#system,
      dialect: this.name,
      documentType: 'purchaseOrder',
      documentId: String(entity.PurchaseOrder),
      number: String(entity.PurchaseOrder),
      status: entity.PurchasingDocumentDeletionCode === 'L' ? 'cancelled' : 'open',
      etag: typeof metadata.etag === 'string' ? metadata.etag : undefined,
    };
  }

  async #fetch(number: string, ctx: CallContext): Promise<Entity> {
    if (!/^\d{1,10}$/.test(number)) throw invalidPo(`"${number}" is not an SAP purchase order number`);
    const { data } = await this.#po.read(
      { path: `${this.#servicePath}/A_PurchaseOrder('${number}')`, query: { $expand: EXPAND } },
      ctx,
    );
    return this.#d(data, `purchase order ${number}`);
  }

  async #find(externalReference: string, ctx: CallContext): Promise<Entity | undefined> {
    const reference = this.#reference(externalReference);
    const { data } = await this.#po.read(
      {
        path: `${this.#servicePath}/A_PurchaseOrder`,
        query: {
          $filter: `CorrespncExternalReference eq ${odataString(reference)} and CompanyCode eq ${odataString(this.#companyCode)}`,
          $top: 1,
          $expand: EXPAND,
        },
      },
      ctx,
    );
    const results =
      isRecord(data) && isRecord(data.d) && Array.isArray(data.d.results) ? data.d.results.filter(isRecord) : undefined;
    if (!results) throw this.#unexpected('the purchase order lookup', 'no d.results');
    return results[0];
  }

  #d(data: unknown, what: string): Entity {
    return this.#po.entity(data, what, 'PurchaseOrder');
  }

  #unexpected(what: string, problem: string): FinanceError {
    return this.#po.unexpected(what, problem);
  }
}

function required(value: string | undefined, what: string, where: string): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new FinanceError('CONFIG_INVALID', `${where}: ${what} is required.`);
  return value.trim();
}

function checkLength(value: string, max: number, where: string): string {
  if (value.length > max) throw invalidPo(`${where} has ${value.length} characters; SAP keeps ${max}`);
  return value;
}

/**
 * NetPriceAmount and NetPriceQuantity of a line: the unit price per 1 unit. A line whose amount is not quantity x
 * unit price (only a line read back from SAP with a price unit whose piece price is not a whole cent, sent back
 * in a change) is written as its amount per its quantity instead, so SAP keeps its value.
 */
function sapPrice(line: PurchaseOrderLine, where: string): { NetPriceAmount: string; NetPriceQuantity: string } {
  const fit = (amount: string) =>
    fitDecimal(
      amount,
      SAP_DECIMALS.NetPriceAmount,
      {
        property: 'NetPriceAmount',
        where: `${where}.unitPrice`,
        remedy: 'Order in a smaller unit of measure, so that one unit costs less.',
      },
      invalidPo,
    );
  const amountMinor = minorOf(line.amount);
  if (minorOf(multiply(line.unitPrice, line.quantity, `${where}.quantity`)) === amountMinor) {
    return { NetPriceAmount: fit(line.unitPrice.amount), NetPriceQuantity: '1' };
  }
  const quantity = parseDecimal(line.quantity) as Decimal; // the caller has checked it against OrderQuantity
  const price = priceForAmount(amountMinor, quantity);
  if (!price) {
    throw invalidPo(
      `${where}.amount ${line.amount.amount} is not quantity ${line.quantity} x unit price ${line.unitPrice.amount}, and no SAP price unit (at most 99999) gives it; correct the line's amount or unit price`,
    );
  }
  return {
    NetPriceAmount: fit(fromMinorUnits(price.priceMinor, line.amount.currency).amount),
    NetPriceQuantity: String(price.priceUnit),
  };
}

function invalidPo(problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Purchase order for SAP: ${problem}.`);
}

function sapDate(isoDate: string): string {
  const ms = Date.parse(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(ms)) throw invalidPo(`"${isoDate}" is not a date YYYY-MM-DD`);
  return `/Date(${ms})/`;
}

function isoDate(value: unknown): string {
  const match = typeof value === 'string' ? /^\/Date\((-?\d+)/.exec(value) : null;
  return match ? new Date(Number(match[1])).toISOString().slice(0, 10) : '';
}

/** "2.000" -> "2": SAP pads quantities to their scale. */
function plainDecimal(value: string): string {
  return value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
}

/** "150.000" -> "150.00" in EUR: an amount at the currency's exponent (more non-zero decimals fail in money()). */
function scaled(value: string, currency: string): string {
  const exponent = currencyExponent(currency) ?? 2;
  const [whole, fraction = ''] = plainDecimal(value).split('.');
  if (fraction.length > exponent) return value;
  return exponent === 0 ? whole : `${whole}.${fraction.padEnd(exponent, '0')}`;
}

/** Price per price unit of an item as SAP holds it, or undefined when NetPriceAmount is not a decimal. */
function pricePerUnit(item: Entity): { numerator: Decimal; denominator: Decimal } | undefined {
  const price = parseDecimal(String(item.NetPriceAmount));
  return price && { numerator: price, denominator: priceUnitOf(item.NetPriceQuantity) };
}

/** The same price: 50.00 per 100 is 0.50 per 1. */
function samePrice(have: Entity, want: SapItem): boolean {
  const a = pricePerUnit(have);
  const b = pricePerUnit(want as unknown as Entity);
  return a !== undefined && b !== undefined && sameRatio(a, b);
}

function etagOf(entity: Entity): string {
  const metadata = isRecord(entity.__metadata) ? entity.__metadata : {};
  if (typeof metadata.etag !== 'string') {
    throw new FinanceError('ERP_UNAVAILABLE', 'SAP answered an entity without __metadata.etag.', { retryable: false });
  }
  return metadata.etag;
}

/** The highest item number among `items`: SAP never numbers a new item like one it has, deleted or not. */
function highestItem(items: Entity[]): number {
  return items.reduce((max, item) => Math.max(max, Number(item.PurchaseOrderItem)), 0);
}

function allItems(entity: Entity): Entity[] {
  const items = entity.to_PurchaseOrderItem;
  return isRecord(items) && Array.isArray(items.results) ? items.results.filter(isRecord) : [];
}

function activeItems(entity: Entity): Entity[] {
  return allItems(entity).filter((item) => item.PurchasingDocumentDeletionCode !== 'L');
}

function changed(current: Entity, desired: Entity): Entity {
  return Object.fromEntries(Object.entries(desired).filter(([name, value]) => current[name] !== value));
}

function sameDecimal(a: unknown, b: unknown): boolean {
  return plainDecimal(String(a)) === plainDecimal(String(b));
}

function sameItems(current: Entity[], desired: SapItem[]): boolean {
  if (current.length !== desired.length) return false;
  return desired.every((want, index) => {
    const have = current[index];
    const haveAssignments =
      isRecord(have.to_AccountAssignment) && Array.isArray(have.to_AccountAssignment.results)
        ? have.to_AccountAssignment.results.filter(isRecord)
        : [];
    const wantAssignments = want.to_AccountAssignment.results;
    return (
      have.PurchaseOrderItemText === want.PurchaseOrderItemText &&
      sameDecimal(have.OrderQuantity, want.OrderQuantity) &&
      samePrice(have, want) &&
      have.PurchaseOrderQuantityUnit === want.PurchaseOrderQuantityUnit &&
      // Only a wanted code counts: an item sent without one may get SAP's default (info record, account).
      (want.TaxCode === undefined || have.TaxCode === want.TaxCode) &&
      haveAssignments.length === wantAssignments.length &&
      wantAssignments.every((a, i) => {
        const h = haveAssignments[i];
        return (
          h.GLAccount === a.GLAccount &&
          (h.CostCenter ?? '') === (a.CostCenter ?? '') &&
          (h.WBSElement ?? '') === (a.WBSElement ?? '') &&
          (a.PurgDocNetAmount === undefined || sameDecimal(h.PurgDocNetAmount, a.PurgDocNetAmount))
        );
      })
    );
  });
}

/**
 * `{ TaxCode }` for a line with a tax code (SAP keeps it upper case, so it is sent so and compares equal when
 * read back); a longer code than SAP's 2 characters is refused, not cut into another code.
 */
function itemTaxCode(taxCode: string | undefined, where: string): { TaxCode?: string } {
  if (taxCode === undefined) return {};
  if (taxCode.length > SAP_LENGTHS.TaxCode) {
    throw invalidPo(
      `${where} "${taxCode}" has ${taxCode.length} characters; SAP tax codes have ${SAP_LENGTHS.TaxCode} (e.g. V1). Map the source's tax code to the SAP tax code of the company code`,
    );
  }
  return { TaxCode: taxCode.toUpperCase() };
}

function isStale(error: unknown): boolean {
  return isFinanceError(error) && error.httpStatus === 412;
}
