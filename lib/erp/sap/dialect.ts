/**
 * SAP S/4HANA, OData v2 service API_PURCHASEORDER_PROCESS_SRV (DESIGN section 9; README "SAP S/4HANA").
 *
 * URL: {baseUrl}{servicePath}/A_PurchaseOrder... with servicePath /sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV
 * and `sap-client` on every request when set. Authentication (basic, or OAuth2 where the landscape offers it)
 * is the connection's; this dialect adds what SAP Gateway demands on top [D SAP KBA 3048103]:
 * - before the first write a GET with `X-CSRF-Token: Fetch` gets the token and the session cookies; writes
 *   send both; a 403 with `x-csrf-token: Required` (token expired with the session) fetches them again and
 *   repeats the write once (any other 403 is a refusal of authorization, passed on at once);
 * - create is one deep insert of A_PurchaseOrder with `to_PurchaseOrderItem` and each item's
 *   `to_AccountAssignment` [S EDMX navigation; U v2 deep-insert JSON `{results: [...]}`]; change is PATCH with
 *   If-Match (the entity's `__metadata.etag`); a changed line PATCHes its own item and account assignments (found by the line's key in
 *   RequisitionerName, so the item keeps its number, receipts and invoices), a removed line's item gets the
 *   deletion code L, an added line is POSTed; supplier or currency changes, and removing, reducing or re-coding
 *   an item flagged delivery completed or final invoice, are refused before any write (ERP_CONFLICT, 409);
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
  /** A_PurchaseOrderItem RequisitionerName: the pack's key of the item's line (LINE_KEY), letter case kept. */
  RequisitionerName: 12,
} as const;

/**
 * The item property that keeps the line id the item was written for (or a digest of a longer one), so that a
 * revision finds the item of each line again and changes it in place. API_PURCHASEORDER_PROCESS_SRV has no
 * property for an external item id; "Requisitioner" (AFNAM, free text, creatable and updatable [S EDMX]) is the
 * one a source's requisition line naturally names.
 */
const LINE_KEY = 'RequisitionerName';

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
  RequisitionerName: string;
  to_AccountAssignment: { results: Entity[] };
}

/** What a revision does to the items (SapDialect #plan). */
interface ItemPlan {
  removed: Entity[];
  changed: Array<{ item: Entity; body: Entity; assignments: Array<{ assignment: Entity; body: Entity }> }>;
  added: PurchaseOrderLine[];
}

/** What a revision wrote so far, for #restore: the items it deleted, and the old values of what it patched. */
interface Done {
  removed: Entity[];
  patched: Array<{ path: string; old: Entity }>;
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
      const plan = this.#plan(number, current, po.lines);
      if (Object.keys(header).length === 0 && isEmptyPlan(plan)) {
        return { ...this.#ref(current), action: 'unchanged', version: etagOf(current) };
      }
      try {
        const { entity: updated, budgetWarnings } = await this.#apply(
          number,
          current,
          header,
          po.lines,
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
   * PATCH of the header with If-Match (an empty one when only lines change), then the items, one request each:
   * items of removed lines get the deletion indicator (DELETE), changed lines PATCH their item and its account
   * assignments, added lines are POSTed under new numbers. An item keeps its number, and with it its goods
   * receipts and invoices, for as long as its line exists (#plan). What SAP's state forbids or what would lose
   * history is refused before anything is written (#plan, #refuseHeader).
   * A refusal part-way (availability control, a bad account or WBS element) would leave the order with only
   * some of the change, while the pack still records the old version as applied; so the order is put back as
   * it was (#restore) and the refusal thrown as it came. SAP's own answer to this is a $batch changeset (one
   * LUW); this dialect does not send $batch yet.
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
    // Checked before anything is written.
    this.#refuseHeader(number, current, header);
    const plan = lines === undefined ? undefined : this.#plan(number, current, lines);
    // Availability control judges the whole order on every write; the last write's warnings are the final word.
    let budgetWarnings = budgetWarningsOf(
      sapMessagesOf(await this.#po.write({ method: 'PATCH', path, body: header, ifMatch }, ctx)),
    );
    if (plan !== undefined && !isEmptyPlan(plan)) {
      const done: Done = { removed: [], patched: [] };
      try {
        // Deletions first: availability control sees the order's value go down before it goes up again.
        for (const item of plan.removed) {
          await this.#po.write({ method: 'DELETE', path: this.#itemPath(number, item), ifMatch: etagOf(item) }, ctx);
          done.removed.push(item);
        }
        for (const change of plan.changed) {
          if (Object.keys(change.body).length > 0) {
            const response = await this.#po.write(
              {
                method: 'PATCH',
                path: this.#itemPath(number, change.item),
                body: change.body,
                ifMatch: etagOf(change.item),
              },
              ctx,
            );
            done.patched.push({ path: this.#itemPath(number, change.item), old: pick(change.item, change.body) });
            budgetWarnings = budgetWarningsOf(sapMessagesOf(response));
          }
          for (const assignment of change.assignments) {
            const assignmentPath = this.#assignmentPath(number, change.item, assignment.assignment);
            const response = await this.#po.write(
              {
                method: 'PATCH',
                path: assignmentPath,
                body: assignment.body,
                ifMatch: etagOrAny(assignment.assignment),
              },
              ctx,
            );
            done.patched.push({ path: assignmentPath, old: pick(assignment.assignment, assignment.body) });
            budgetWarnings = budgetWarningsOf(sapMessagesOf(response));
          }
        }
        const numbered = this.#items(plan.added, highestItem(allItems(current)));
        for (const item of numbered) {
          const response = await this.#po.write(
            { method: 'POST', path: `${path}/to_PurchaseOrderItem`, body: item },
            ctx,
          );
          budgetWarnings = budgetWarningsOf(sapMessagesOf(response));
        }
      } catch (error) {
        // Any other failure may have been applied: the retry of the whole change plans again from SAP's state.
        if (!isFinalRefusal(error)) throw error;
        throw await this.#restore(number, current, header, done, error, ctx);
      }
    }
    return { entity: await this.#fetch(number, ctx), budgetWarnings };
  }

  /**
   * Supplier and currency of an existing order are not changed: SAP keeps the item prices as numbers when the
   * currency changes (they would be read in the new currency) [D SAP Note 24526], and goods receipts and
   * invoices already posted stay with the old supplier and currency [D SAP Note 457511].
   */
  #refuseHeader(number: string, current: Entity, header: Entity): void {
    const fields = (['Supplier', 'DocumentCurrency'] as const).filter((name) => name in header);
    if (fields.length === 0) return;
    const what = fields
      .map(
        (name) =>
          `${name === 'Supplier' ? 'supplier' : 'currency'} ${String(current[name])} -> ${String(header[name])}`,
      )
      .join(', ');
    throw conflict(
      `purchase order ${number} would change its ${what}. finance-sync does not change the supplier or currency of an existing SAP purchase order (SAP keeps the item prices as they are, and receipts and invoices stay with the old ones): cancel the order in the source and raise a new one, or change purchase order ${number} in SAP (Manage Purchase Orders / ME22N) and send this revision again (replay it).`,
      { documentId: number, fields },
    );
  }

  /**
   * Which item each line is and what changes, checked before anything is written. A line's item is the active
   * item whose RequisitionerName holds the line's key (written when the item was added, see #items); an item
   * without a key (added before the pack kept keys, or in SAP) is the line whose lineId is its number, else
   * the first line that holds exactly its content. A line without an item is added; an item without a line
   * gets the deletion indicator. A line whose account assignment category, distribution or number of
   * assignments changed cannot be patched into its item: the item is replaced.
   * Refused (ERP_CONFLICT): removing, replacing, reducing or re-coding an item that SAP flags delivery
   * completed or final invoice: its receipts and invoices would lose their order item or no longer match it,
   * and SAP refuses account assignment changes after a valuated goods receipt [D SAP help "Displaying and
   * Changing Account Assignments"]. This API does not answer received quantities, so a partly received item
   * is not guarded here; SAP's own checks answer for it.
   */
  #plan(number: string, current: Entity, lines: readonly PurchaseOrderLine[]): ItemPlan {
    const wanted = this.#items(lines, 0);
    const active = activeItems(current);
    const matched = new Map<number, Entity>();
    const used = new Set<Entity>();
    wanted.forEach((want, index) => {
      const item = active.find((each) => !used.has(each) && each[LINE_KEY] === want[LINE_KEY]);
      if (item) {
        matched.set(index, item);
        used.add(item);
      }
    });
    const unkeyed = (each: Entity) => !used.has(each) && (each[LINE_KEY] ?? '') === '';
    wanted.forEach((want, index) => {
      if (matched.has(index)) return;
      const item =
        active.find((each) => unkeyed(each) && String(each.PurchaseOrderItem) === lines[index].lineId) ??
        active.find((each) => unkeyed(each) && sameItem(each, want));
      if (item) {
        matched.set(index, item);
        used.add(item);
      }
    });
    const plan: ItemPlan = { removed: [], changed: [], added: [] };
    const refusals: string[] = [];
    const guard = (item: Entity, what: string) => {
      if (hasHistory(item)) refusals.push(`item ${String(item.PurchaseOrderItem)} (${historyOf(item)}) ${what}`);
    };
    wanted.forEach((want, index) => {
      const item = matched.get(index);
      const line = lines[index];
      if (!item) {
        plan.added.push(line);
        return;
      }
      const have = assignmentsOf(item);
      const restructured =
        String(item.AccountAssignmentCategory ?? '') !== want.AccountAssignmentCategory ||
        (String(item.MultipleAcctAssgmtDistribution ?? '') || undefined) !== want.MultipleAcctAssgmtDistribution ||
        have.length !== want.to_AccountAssignment.results.length;
      if (restructured) {
        guard(item, `would be replaced for line ${line.lineId} (its account assignment is split or typed differently)`);
        plan.removed.push(item);
        plan.added.push(line);
        return;
      }
      const body = itemChanges(item, want);
      const assignments = want.to_AccountAssignment.results
        .map((a, i) => ({ assignment: have[i], body: assignmentChanges(have[i], a) }))
        .filter((each) => Object.keys(each.body).length > 0);
      if ('OrderQuantity' in body && lessThan(String(want.OrderQuantity), String(item.OrderQuantity))) {
        guard(
          item,
          `would go down from quantity ${plainDecimal(String(item.OrderQuantity))} to ${line.quantity} for line ${line.lineId}`,
        );
      }
      if (assignments.length > 0) guard(item, `would get another account assignment for line ${line.lineId}`);
      if (Object.keys(body).length === 0 && assignments.length === 0) return;
      if (item[LINE_KEY] !== want[LINE_KEY]) body[LINE_KEY] = want[LINE_KEY];
      plan.changed.push({ item, body, assignments });
    });
    for (const item of active.filter((each) => !used.has(each))) {
      guard(item, 'would be deleted (its line is gone)');
      plan.removed.push(item);
    }
    if (refusals.length > 0) {
      throw conflict(
        `purchase order ${number} cannot take this revision: ${refusals.join('; ')}. Its receipts and invoices would lose their order item or no longer match it. Change the order in SAP (Manage Purchase Orders / ME22N: e.g. reverse the goods receipt, or leave the item and add a new one) or revise the document in the source so that it keeps these items, then send this revision again (replay it).`,
        { documentId: number, items: refusals },
      );
    }
    return plan;
  }

  /**
   * Puts an order back as `current` held it after a change failed part-way: the items added since are deleted
   * (read again, so an item whose POST answered with an error but was saved goes too), the items and account
   * assignments patched get their old values back, the header fields the change patched get their old values
   * back, and the old items that were deleted are added again (they fitted before; under new numbers, SAP
   * never takes a deletion indicator back through this API). A header field that no longer holds the change's
   * value was changed by someone else meanwhile and is left as it is. Answers the error to throw: the refusal
   * as it came, or, when the order could not be put back, one that says so.
   */
  async #restore(
    number: string,
    current: Entity,
    header: Entity,
    done: Done,
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
      for (const patched of done.patched) {
        // The entity's ETag now, read again: the PATCH of the change gave it a new one.
        const { data } = await this.#po.read({ path: patched.path }, ctx);
        const entity = this.#po.entity(data, patched.path, 'PurchaseOrderItem');
        await this.#po.write(
          { method: 'PATCH', path: patched.path, body: patched.old, ifMatch: etagOrAny(entity) },
          ctx,
        );
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
      const lines = done.removed.map((item) => this.#canonicalLine(item, currency));
      const keys = done.removed.map((item) => item[LINE_KEY]);
      const items = this.#items(lines, highestItem(allItems(now))).map((item, i) => ({
        ...item,
        [LINE_KEY]: typeof keys[i] === 'string' ? keys[i] : '',
      }));
      for (const item of items) {
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

  #assignmentPath(number: string, item: Entity, assignment: Entity): string {
    return `${this.#servicePath}/A_PurOrdAccountAssignment(PurchaseOrder='${number}',PurchaseOrderItem='${String(item.PurchaseOrderItem)}',AccountAssignmentNumber='${String(assignment.AccountAssignmentNumber)}')`;
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
        RequisitionerName: fitReference(line.lineId, SAP_LENGTHS.RequisitionerName),
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

function isEmptyPlan(plan: ItemPlan): boolean {
  return plan.removed.length === 0 && plan.changed.length === 0 && plan.added.length === 0;
}

function assignmentsOf(item: Entity): Entity[] {
  return isRecord(item.to_AccountAssignment) && Array.isArray(item.to_AccountAssignment.results)
    ? item.to_AccountAssignment.results.filter(isRecord)
    : [];
}

/** The item properties a revision PATCHes, where `want` differs from `have`. */
function itemChanges(have: Entity, want: SapItem): Entity {
  const body: Entity = {};
  if (have.PurchaseOrderItemText !== want.PurchaseOrderItemText)
    body.PurchaseOrderItemText = want.PurchaseOrderItemText;
  if (!sameDecimal(have.OrderQuantity, want.OrderQuantity)) body.OrderQuantity = want.OrderQuantity;
  if (have.PurchaseOrderQuantityUnit !== want.PurchaseOrderQuantityUnit)
    body.PurchaseOrderQuantityUnit = want.PurchaseOrderQuantityUnit;
  if (!samePrice(have, want)) {
    body.NetPriceAmount = want.NetPriceAmount;
    body.NetPriceQuantity = want.NetPriceQuantity;
  }
  // Only a wanted code counts: an item sent without one may get SAP's default (info record, account).
  if (want.TaxCode !== undefined && have.TaxCode !== want.TaxCode) body.TaxCode = want.TaxCode;
  return body;
}

/** The account assignment properties a revision PATCHes, where `want` differs from `have`. */
function assignmentChanges(have: Entity, want: Entity): Entity {
  const body: Entity = {};
  for (const name of ['GLAccount', 'CostCenter', 'WBSElement']) {
    if (String(have[name] ?? '') !== String(want[name] ?? '')) body[name] = want[name] ?? '';
  }
  if (want.PurgDocNetAmount !== undefined && !sameDecimal(have.PurgDocNetAmount, want.PurgDocNetAmount))
    body.PurgDocNetAmount = want.PurgDocNetAmount;
  return body;
}

/** The same item: nothing a revision would write differs. */
function sameItem(have: Entity, want: SapItem): boolean {
  const assignments = assignmentsOf(have);
  return (
    Object.keys(itemChanges(have, want)).length === 0 &&
    String(have.AccountAssignmentCategory ?? '') === want.AccountAssignmentCategory &&
    assignments.length === want.to_AccountAssignment.results.length &&
    want.to_AccountAssignment.results.every((a, i) => Object.keys(assignmentChanges(assignments[i], a)).length === 0)
  );
}

/** SAP's flags of an item with follow-on documents: delivery completed, final invoice. */
function hasHistory(item: Entity): boolean {
  return item.IsCompletelyDelivered === true || item.IsFinallyInvoiced === true;
}

function historyOf(item: Entity): string {
  return [
    item.IsCompletelyDelivered === true ? 'delivery completed' : '',
    item.IsFinallyInvoiced === true ? 'final invoice' : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** a < b for two decimal strings ("1.5" < "2.000"). */
function lessThan(a: string, b: string): boolean {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  if (!x || !y) return false;
  return x.digits * 10n ** BigInt(y.scale) < y.digits * 10n ** BigInt(x.scale);
}

/** The values `entity` holds for the properties of `body`: what puts a PATCH of `body` back. */
function pick(entity: Entity, body: Entity): Entity {
  return Object.fromEntries(Object.keys(body).map((name) => [name, entity[name] ?? '']));
}

/** An entity's ETag, or `*` for one SAP answers without (account assignments carry none in some releases [U]). */
function etagOrAny(entity: Entity): string {
  const metadata = isRecord(entity.__metadata) ? entity.__metadata : {};
  return typeof metadata.etag === 'string' ? metadata.etag : '*';
}

/**
 * A revision SAP's state forbids or that would lose history: refused before anything is written, for a person
 * (not retryable; 409 so that the pack treats it as a refusal, not a failure to retry).
 */
function conflict(problem: string, details: Record<string, unknown>): FinanceError {
  return new FinanceError('ERP_CONFLICT', `SAP ${problem}`, { httpStatus: 409, retryable: false, details });
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
