/**
 * The approval workflow of one finance-approval node: starts approvals from documents, applies decisions,
 * escalates overdue stages, and says what to emit. It joins the pure engine (route, process, delegation)
 * to the durable store (pending approvals, SLA timers, the inbox's final outcomes); the node only turns
 * the emissions into messages on its outputs.
 *
 * Every change to an approval runs one at a time (a queue per workflow), so a duplicate delivery arriving
 * while the first is being stored, or a decision racing an escalation, sees the other's result. On a store
 * several hosts share, each change also holds a lease on its document and reads the approval inside it
 * (DocumentLock), so the same holds between hosts. Each change is stored before anything is emitted: what was
 * emitted is always on disk.
 *
 * The event that started an approval stays open in the store's inbox while a person decides, and the intake
 * re-emits open events whose lease ran out. So while an approval waits, its event's inbox entry is held until
 * the current stage's SLA due time plus `holdMarginMs` (the escalation has run by then), renewed on every new
 * stage and escalation, and given back an ordinary lease once approved. A redelivered event of a document
 * already pending, and the event of a version that a newer one replaced, get a final outcome (`duplicate`,
 * `superseded`): nothing will ever finish them otherwise.
 */
import { FinanceError } from '../errors';
import { inboxKey, type FinanceStore } from '../reliability/store';
import { assertValid } from '../model/validate';
import type { BudgetStatus, ExpenseReport, Money } from '../model/types';
import { delegatesOf, type Delegation } from './delegation';
import type { DecisionInput } from './decision-input';
import { DocumentLock, isDocumentBusy } from './document-lock';
import type { ApprovalDirectory } from './directory';
import type { CompiledMatrix } from './matrix';
import {
  currentEntry,
  decide,
  escalate,
  otherStageOf,
  start,
  type ApprovalRecord,
  type DecisionOutcome,
} from './process';
import { planApproval } from './route';
import {
  PendingApprovals,
  contentDigestOf,
  docKeyOf,
  type DocumentMessage,
  type PendingApproval,
} from './pending-approvals';
import { RequestOutbox, matches } from './request-outbox';
import { StoreTimerRepository } from './store-timers';
import { SlaScheduler, timerIdOf } from './timers';

export type WorkflowStore = Pick<
  FinanceStore,
  'kvPut' | 'kvGet' | 'kvDelete' | 'kvList' | 'finish' | 'holdLease' | 'claimLease' | 'sharedAcrossHosts'
>;

export interface ApprovalWorkflowOptions {
  store: WorkflowStore;
  /** Prefix of this workflow's key-value namespaces, e.g. "finance-approval/<node id>". */
  namespace: string;
  matrix: CompiledMatrix;
  delegations: readonly Delegation[];
  /** The employee directory to route with (see DirectoryCache). */
  directory: () => Promise<ApprovalDirectory>;
  clock?: () => Date;
  /** How long a finished approval is remembered to recognise redeliveries. Default 30 days. */
  retentionMs?: number;
  /** How long an SLA timer that fired stays claimed before it fires again (see SlaScheduler). */
  leaseMs?: number;
  /**
   * How long after a stage's SLA due time its escalation is sure to have run: the node's SLA check interval.
   * A waiting event's inbox entry is held this much past the due time. Default 1 minute.
   */
  holdMarginMs?: number;
  /** Something went wrong that does not stop the workflow (it took a fallback). */
  warn?: (text: string) => void;
  /** Asked before each SLA check; false skips it (one host of several runs the checks: see SingleRunner). */
  mayRunSla?: () => Promise<boolean>;
  /**
   * How old a request that is not known to have been sent must be before an SLA check sends it again (see
   * RequestOutbox): longer than the node takes from saving an approval to sending its request. Default 1 minute.
   */
  resendAfterMs?: number;
  /**
   * True when a write-back follows the rejected output and ends the event of a rejected or returned report once
   * the source knows. The event then keeps an ordinary lease meanwhile, so a crash before the write-back brings
   * it back and the outcome is emitted again instead of being lost. False (the default): the event ends here.
   */
  writebackFollows?: boolean;
  /**
   * On a store several hosts share: how long a change to one document's approval waits for another host's
   * change to it before failing (retryable), and how long its lease lasts (see DocumentLock). Defaults 5 s, 30 s.
   */
  documentLockWaitMs?: number;
  documentLockTtlMs?: number;
}

/** What an approver is asked, for the notification (msg.approvalRequest). */
export interface ApprovalRequest {
  approver: string;
  /** People who may decide in the approver's place today. */
  delegates: string[];
  stage: number;
  dueAt?: string;
  reportId: string;
  /**
   * The version of the document asked about, when the source has one: the approver's app sends it back with
   * the decision, so that a decision is refused if the document changed since.
   */
  version?: number;
  total: Money;
  reason: string;
  /**
   * Set when the request is sent again because the host stopped before it knew the request had left: the
   * approver may have had it already.
   */
  resent?: true;
}

export interface ApprovalMessage extends DocumentMessage {
  approval: ApprovalRecord;
  topic?: 'approval-request';
  approvalRequest?: ApprovalRequest;
}

/** `request`: a stage waits for a person. `escalated` is informational: the approval is still open. */
export type Port = 'approved' | 'rejected' | 'escalated' | 'request';

export interface Emission {
  port: Port;
  message: ApprovalMessage;
}

/**
 * `pending`: a person has been asked. `already-pending`: a redelivery of a document being approved, nothing
 * to emit. `replayed`: a redelivery of a finished approval, whose outcome is emitted again so that a flow
 * re-run after a crash (the inbox re-emits unfinished events) completes.
 */
export type StartStatus = 'auto-approved' | 'pending' | 'already-pending' | 'replayed';

export interface StartResult {
  status: StartStatus;
  /** True when the document is a newer version of one pending approval, which this one replaced. */
  superseded: boolean;
  record: ApprovalRecord;
  emissions: Emission[];
}

export interface WorkflowDecision {
  outcome: DecisionOutcome;
  duplicate: boolean;
  record: ApprovalRecord;
  emissions: Emission[];
}

/** One line of the pending list (admin endpoint). */
export interface PendingSummary {
  reportId: string;
  sourceRef: { system: string; id: string; version?: number };
  state: ApprovalRecord['state'];
  approver?: string;
  stage: number;
  dueAt?: string;
  total: Money;
  submitterId: string;
  escalations: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_HOLD_MARGIN_MS = 60_000;
const DEFAULT_RESEND_AFTER_MS = 60_000;
/** Most unsent requests one SLA check sends again; the rest wait for the next check. */
const RESEND_BATCH = 100;
const BUDGET_STATUSES: readonly BudgetStatus[] = ['within', 'exceeded', 'warning', 'deferred'];

export class ApprovalWorkflow {
  readonly scheduler: SlaScheduler;
  private readonly book: PendingApprovals;
  private readonly outbox: RequestOutbox;
  private readonly lock: DocumentLock;
  private readonly clock: () => Date;
  private queue: Promise<unknown> = Promise.resolve();
  private slaInterval?: NodeJS.Timeout;

  constructor(private readonly options: ApprovalWorkflowOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.book = new PendingApprovals(
      options.store,
      `${options.namespace}/approvals`,
      options.retentionMs ?? 30 * DAY_MS,
    );
    this.outbox = new RequestOutbox(options.store, `${options.namespace}/outbox`);
    this.lock = new DocumentLock(options.store, {
      namespace: options.namespace,
      ttlMs: options.documentLockTtlMs,
      waitMs: options.documentLockWaitMs,
      warn: options.warn,
    });
    this.scheduler = new SlaScheduler({
      repository: new StoreTimerRepository<ApprovalRecord>(options.store, `${options.namespace}/timers`),
      clock: this.clock,
      leaseMs: options.leaseMs,
      mayRun: options.mayRunSla,
    });
  }

  /** Starts the approval of an expense report (msg.payload), with msg.finance and msg.budget when present. */
  async start(message: DocumentMessage): Promise<StartResult> {
    assertValid('ExpenseReport', message.payload);
    const budgetStatus = budgetStatusOf(message.budget);
    const directory = await this.options.directory();
    const docKey = docKeyOf(message.payload.sourceRef);
    const shared = this.options.store.sharedAcrossHosts === true;
    let outcomeToRecord: PendingApproval | undefined;
    const result = await this.serial(() =>
      this.lock.run(docKey, async (): Promise<StartResult> => {
        const report = message.payload;
        const eventKey = eventKeyOf(message.finance);
        // Only a document without a version is told from its redelivery by its content.
        const digest = report.sourceRef.version === undefined ? contentDigestOf(report) : undefined;
        const pending = await this.book.get(docKey);
        /** The approval of an earlier version this one replaces: decisions made on it must not count here. */
        let replaced = pending?.record;
        if (pending !== undefined) {
          const known = pending.message.payload.sourceRef.version;
          const order = compareVersions(report, known);
          if (order < 0) throw stale(report, known);
          const sameEvent = eventKey !== undefined && eventKey === pending.eventKey;
          if (order === 0 && (sameEvent || !changedWithoutVersion(report, known, digest, pending.digest))) {
            if (eventKey === undefined || sameEvent) {
              // The same event again: recovery after a crash, which may have come between the approval's save and
              // its SLA timer's (saveWaiting). Putting the timer again is harmless and the approval cannot wait
              // for ever without one.
              await this.scheduler.schedule(pending.record);
              await this.holdEvent(eventKey, pending.record);
            } else await this.finishEvent(eventKey, 'duplicate', { pendingEvent: pending.eventKey ?? null });
            return { status: 'already-pending', superseded: false, record: pending.record, emissions: [] };
          }
          // A newer version, or a document without versions whose content changed: this one replaces it.
        } else {
          const finished = await this.book.finished(docKey);
          replaced = finished?.record;
          if (finished !== undefined) {
            const order = compareVersions(report, finished.version);
            if (order < 0) throw stale(report, finished.version);
            const sameEvent = eventKey !== undefined && eventKey === finished.eventKey;
            const maybeSameEvent = eventKey === undefined || finished.eventKey === undefined || sameEvent;
            if (
              order === 0 &&
              maybeSameEvent &&
              (sameEvent || !changedWithoutVersion(report, finished.version, digest, finished.digest))
            ) {
              return {
                status: 'replayed',
                superseded: false,
                record: finished.record,
                emissions: [finalEmission(message, finished.record)],
              };
            }
          }
        }

        const plan = planApproval({ report, budgetStatus, directory }, this.options.matrix);
        for (const warning of plan.warnings ?? []) this.options.warn?.(warning);
        const correlationId = message.finance?.correlationId;
        const record = start(plan, this.clock(), {
          ...(typeof correlationId === 'string' && { correlationId }),
          ...(replaced !== undefined && { replaces: replaced }),
        });
        const superseded = pending !== undefined;
        const approval: PendingApproval = {
          docKey,
          message: documentParts(message),
          record,
          ...(eventKey !== undefined && { eventKey }),
          ...(digest !== undefined && { digest }),
        };
        if (record.state === 'approved') {
          // A versioned document's outcome is kept like a decided one, so an older version that comes late is
          // refused as stale instead of being sent for approval after this one was approved.
          if (pending !== undefined) {
            await this.book.finish(approval, record);
            await this.scheduler.cancel(timerIdOf(pending.record));
          } else if (report.sourceRef.version !== undefined) {
            // On a shared store inside the document's lease, or another host could start the older version
            // between the lease's release and this write (see below).
            if (shared) await this.book.recordOutcome(approval, record);
            else outcomeToRecord = approval;
          }
        } else {
          await this.saveWaiting(approval);
          if (pending?.eventKey !== undefined && pending.eventKey !== eventKey) {
            await this.finishEvent(pending.eventKey, 'superseded', { by: eventKey ?? null });
          }
          return { status: 'pending', superseded, record, emissions: [this.request(approval, message)] };
        }
        if (pending?.eventKey !== undefined && pending.eventKey !== eventKey) {
          await this.finishEvent(pending.eventKey, 'superseded', { by: eventKey ?? null });
        }
        return { status: 'auto-approved', superseded, record, emissions: [finalEmission(message, record)] };
      }),
    );
    // Written after the serial section, still before the message goes on: inside it, every automatic approval
    // waited for a commit of its own (one disk sync each), which halved the pipeline's throughput; out here the
    // writes of events in flight share commits. The window it leaves (an older version handled in the
    // milliseconds before this commit is not seen as stale) is the one a crash before the commit leaves anyway.
    // Only on a store of one host: on a shared store another host could use that window, so it is written
    // inside the document's lease there.
    if (outcomeToRecord !== undefined) await this.book.recordOutcome(outcomeToRecord, result.record);
    return result;
  }

  /**
   * Applies an approver's decision. APPROVAL_NOT_FOUND when no approval of that document is known;
   * APPROVER_NOT_ALLOWED (from the engine) when the person may not decide, or when the decision names a version
   * of the document other than the one pending (or decided); a redelivered decision is a duplicate with nothing
   * to emit.
   */
  decide(input: DecisionInput): Promise<WorkflowDecision> {
    return this.serial(async () => {
      const directory = await this.decisionDirectory();
      const docKey =
        'subject' in input.target
          ? docKeyOf(input.target.subject)
          : await this.book.docKeyOfReport(input.target.reportId);
      if (docKey === undefined) throw notFound(input);
      // Read (again) inside the lease: a decision or escalation on another host may have changed the approval.
      return this.lock.run(docKey, () => this.decideLocked(docKey, input, directory));
    });
  }

  /**
   * The directory a decision is checked against (an inactive decider is refused), or undefined when it cannot be
   * had: a decision is not held back by the ERP being down; its other checks still apply.
   */
  private async decisionDirectory(): Promise<ApprovalDirectory | undefined> {
    try {
      return await this.options.directory();
    } catch (error) {
      this.options.warn?.(
        `Decision checked without the employee directory (${(error as Error).message}): whether the decider is still active is not known.`,
      );
      return undefined;
    }
  }

  private async decideLocked(
    docKey: string,
    input: DecisionInput,
    directory: ApprovalDirectory | undefined,
  ): Promise<WorkflowDecision> {
    const pending = await this.book.get(docKey);
    if (pending === undefined) {
      const finished = await this.book.finished(docKey);
      if (finished === undefined) throw notFound(input);
      checkVersion(input, finished.record, finished.version, 'decided');
      // A decided approval only accepts the same decision again (a duplicate); anything else is refused.
      const result = decide(finished.record, input.decision, this.options.delegations, this.clock());
      return { outcome: result.outcome, duplicate: true, record: result.record, emissions: [] };
    }

    checkVersion(input, pending.record, pending.message.payload.sourceRef.version, 'pending');
    const result = decide(pending.record, input.decision, this.options.delegations, this.clock(), directory);
    if (result.duplicate) return { ...result, emissions: [] };
    if (result.outcome === 'advanced') {
      const advanced: PendingApproval = { ...pending, record: result.record };
      await this.saveWaiting(advanced);
      return { ...result, emissions: [this.request(advanced, pending.message)] };
    }

    await this.book.finish(pending, result.record);
    await this.scheduler.cancel(timerIdOf(result.record));
    const refused = result.outcome === 'rejected' || result.outcome === 'returned';
    if (refused && this.options.writebackFollows !== true) {
      await this.finishInbox(pending.message, result.record, result.outcome as 'rejected' | 'returned');
    } else {
      // The event moves on (to posting, or to the write-back), with an ordinary lease from now.
      await this.holdEvent(pending.eventKey, result.record);
    }
    return { ...result, emissions: [finalEmission(pending.message, result.record)] };
  }

  /** Overdue approvals claimed by one SLA tick, escalated; one list of emissions per escalated approval. */
  async escalate(due: readonly ApprovalRecord[]): Promise<Emission[][]> {
    if (due.length === 0) return [];
    let directory: ApprovalDirectory | undefined;
    try {
      directory = await this.options.directory();
    } catch (error) {
      this.options.warn?.(
        `SLA escalation without the employee directory (${(error as Error).message}): overdue approvals go to the finance controller.`,
      );
    }
    const escalated: Emission[][] = [];
    for (const record of due) {
      const docKey = docKeyOf(record.sourceRef);
      let emissions: Emission[];
      try {
        emissions = await this.serial(() => this.lock.run(docKey, () => this.escalateOne(record, directory)));
      } catch (error) {
        // Another host is changing this approval: its timer fires again once its claim runs out (leaseMs), and
        // the other overdue approvals of this check go on.
        if (!isDocumentBusy(error)) throw error;
        this.options.warn?.(`SLA escalation postponed: ${(error as Error).message}`);
        continue;
      }
      if (emissions.length > 0) escalated.push(emissions);
    }
    return escalated;
  }

  /**
   * Runs one SLA check now: claims what is due and escalates it, then sends again the requests a stopped host
   * may not have sent. One list of emissions per approval; pass them all to requestsSent once sent.
   */
  async checkSla(): Promise<Emission[][]> {
    const escalations = await this.escalate(await this.scheduler.tick());
    const resent = await this.unsentRequests();
    return [...escalations, ...resent.map((emission) => [emission])];
  }

  /**
   * Runs checkSla every `intervalMs` (a check is skipped while the previous one runs, so a slow store cannot
   * pile them up) and hands its emissions to `onEmissions`. The interval never keeps the process alive.
   */
  startSla(
    intervalMs: number,
    onEmissions: (emissions: Emission[][]) => Promise<void>,
    onError: (error: unknown) => void,
  ): void {
    this.stopSla();
    let checking = false;
    this.slaInterval = setInterval(() => {
      if (checking) return;
      checking = true;
      this.checkSla()
        .then(onEmissions)
        .catch(onError)
        .finally(() => {
          checking = false;
        });
    }, intervalMs);
    this.slaInterval.unref();
  }

  stopSla(): void {
    if (this.slaInterval !== undefined) clearInterval(this.slaInterval);
    this.slaInterval = undefined;
  }

  /**
   * The node has sent these emissions: their requests leave the outbox. Never rejects: a failure only warns,
   * and the request is then sent a second time by a later SLA check.
   */
  async requestsSent(emissions: readonly Emission[]): Promise<void> {
    // Read before anything is awaited: the flow may change the messages once it has them.
    const sent = emissions
      .filter((emission) => emission.port === 'request')
      .map((emission) => emission.message.approval);
    for (const record of sent) {
      try {
        const docKey = docKeyOf(record.sourceRef);
        await this.serial(() => this.lock.run(docKey, () => this.outbox.sent(docKey, record)));
      } catch (error) {
        this.options.warn?.(
          `A sent approval request could not be marked as sent, so it will be sent again: ${(error as Error).message}`,
        );
      }
    }
  }

  async pending(limit: number): Promise<PendingSummary[]> {
    return (await this.book.list(limit)).map(({ message, record }) => {
      const dueAt = currentEntry(record)?.dueAt;
      return {
        reportId: message.payload.reportId,
        // The version too, when the source has one: an approver's app sends it with the decision, which is then
        // refused if the document changed meanwhile, instead of approving what the approver did not see.
        sourceRef: {
          system: record.sourceRef.system,
          id: record.sourceRef.id,
          ...(record.sourceRef.version !== undefined && { version: record.sourceRef.version }),
        },
        state: record.state,
        ...(record.approver !== undefined && { approver: record.approver }),
        stage: record.stage,
        ...(dueAt !== undefined && { dueAt }),
        total: message.payload.total,
        submitterId: record.submitterId,
        escalations: record.escalations,
      };
    });
  }

  private async escalateOne(
    timerRecord: ApprovalRecord,
    directory: ApprovalDirectory | undefined,
  ): Promise<Emission[]> {
    // The stored approval is the truth; the timer's copy may be older (decided or advanced since it was set,
    // here or, on a shared store, on another host: this runs in the document's lease).
    const pending = await this.book.get(docKeyOf(timerRecord.sourceRef));
    if (pending === undefined) {
      await this.scheduler.cancel(timerIdOf(timerRecord));
      return [];
    }
    const result = escalate(pending.record, this.clock(), this.options.matrix, directory);
    if (!result.escalated) {
      await this.scheduler.schedule(pending.record);
      return [];
    }
    const escalated: PendingApproval = { ...pending, record: result.record };
    const entry = currentEntry(result.record);
    const from = entry?.escalatedFrom?.at(-1);
    const reason = `${from} did not decide within the ${result.record.slaHours} h SLA; ${entry?.reason ?? ''}`;
    await this.saveWaiting(escalated, reason);
    return [
      { port: 'escalated', message: { ...documentParts(pending.message), approval: result.record } },
      this.request(escalated, structuredClone(pending.message), reason),
    ];
  }

  /**
   * Requests written to the outbox at least `resendAfterMs` ago and still not marked as sent: the host stopped
   * between saving an approval and sending its request. The ones the stored approval still waits for are
   * emitted again (marked `resent`); the others (the approval moved on, or was never saved) are dropped.
   */
  private async unsentRequests(): Promise<Emission[]> {
    if (this.options.mayRunSla && !(await this.options.mayRunSla())) return [];
    const writtenBy = this.clock().getTime() - (this.options.resendAfterMs ?? DEFAULT_RESEND_AFTER_MS);
    const emissions: Emission[] = [];
    for (const unsent of await this.outbox.olderThan(writtenBy, RESEND_BATCH)) {
      const emission = await this.serial(() =>
        this.lock.run(unsent.docKey, async () => {
          const pending = await this.book.get(unsent.docKey);
          if (pending === undefined || !matches(unsent, pending.record)) {
            await this.outbox.remove(unsent.docKey);
            return undefined;
          }
          const request = this.request(pending, structuredClone(pending.message), unsent.reason);
          request.message.approvalRequest!.resent = true;
          return request;
        }),
      ).catch((error: unknown) => {
        // Another host is changing this approval: the next SLA check looks at the request again.
        if (!isDocumentBusy(error)) throw error;
        return undefined;
      });
      if (emission !== undefined) emissions.push(emission);
    }
    return emissions;
  }

  /**
   * Stores an approval that now waits for a person: its request goes to the outbox first, so a host that
   * stops before sending it leaves it there (see RequestOutbox); then the approval, its SLA timer and the hold
   * on its event.
   */
  private async saveWaiting(approval: PendingApproval, reason?: string): Promise<void> {
    const entry = currentEntry(approval.record);
    await this.outbox.add(approval.docKey, approval.record, reason ?? entry?.reason ?? '', this.clock().getTime());
    await this.book.save(approval);
    await this.scheduler.schedule(approval.record);
    await this.holdEvent(approval.eventKey, approval.record);
  }

  private request(approval: PendingApproval, message: DocumentMessage, reason?: string): Emission {
    const entry = currentEntry(approval.record);
    if (entry === undefined) throw new Error('An approval request needs an undecided stage.');
    const report = approval.message.payload;
    const approvalRequest: ApprovalRequest = {
      approver: entry.approver,
      // Without the people of the other stages, whom decide() refuses as delegates.
      delegates: delegatesOf(
        entry.approver,
        this.clock(),
        this.options.delegations,
        approval.record.submitterId,
      ).filter((delegate) => otherStageOf(approval.record, entry.stage, delegate) === undefined),
      stage: entry.stage,
      ...(entry.dueAt !== undefined && { dueAt: entry.dueAt }),
      reportId: report.reportId,
      ...(report.sourceRef.version !== undefined && { version: report.sourceRef.version }),
      total: report.total,
      reason: reason ?? entry.reason,
    };
    return {
      port: 'request',
      message: {
        ...documentParts(message),
        approval: approval.record,
        topic: 'approval-request',
        approvalRequest,
      },
    };
  }

  /** Rejected and returned end the event's journey here (unless writebackFollows): its inbox entry gets its final outcome. */
  private async finishInbox(message: DocumentMessage, record: ApprovalRecord, status: 'rejected' | 'returned') {
    const source = message.finance?.source;
    const id = message.finance?.id;
    if (typeof source !== 'string' || typeof id !== 'string') return;
    await this.options.store.finish(inboxKey(source, id), {
      status,
      detail: {
        approver: record.approver,
        ...(record.delegateOf !== undefined && { delegateOf: record.delegateOf }),
        stage: record.stage,
        decidedAt: record.decidedAt,
        ...(record.comment !== undefined && { comment: record.comment }),
      },
    });
  }

  /**
   * Holds the event's inbox entry while the approval waits: until the current stage's due time plus the margin,
   * or (decided) an ordinary lease from now. A failure only warns: the approval is stored, and the worst outcome
   * is that the intake emits the event again, which finds it pending.
   */
  private async holdEvent(eventKey: string | undefined, record: ApprovalRecord): Promise<void> {
    if (eventKey === undefined) return;
    const dueAt = currentEntry(record)?.dueAt;
    const margin = this.options.holdMarginMs ?? DEFAULT_HOLD_MARGIN_MS;
    const holdMs = dueAt === undefined ? 0 : Math.max(0, Date.parse(dueAt) - this.clock().getTime()) + margin;
    try {
      await this.options.store.holdLease(eventKey, holdMs);
    } catch (error) {
      this.options.warn?.(`The inbox entry of a waiting approval could not be held: ${(error as Error).message}`);
    }
  }

  /** Gives an event that this workflow will never finish otherwise its final outcome. */
  private async finishEvent(eventKey: string, status: 'duplicate' | 'superseded', detail: Record<string, unknown>) {
    await this.options.store.finish(eventKey, { status, detail });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function finalEmission(message: DocumentMessage, record: ApprovalRecord): Emission {
  return {
    port: record.state === 'approved' ? 'approved' : 'rejected',
    message: { ...documentParts(message), approval: record },
  };
}

/** Only the document, its envelope and its budget result are kept and emitted again: never msg.req/res. */
function documentParts(message: DocumentMessage): DocumentMessage {
  return {
    payload: message.payload,
    ...(message.finance !== undefined && { finance: message.finance }),
    ...(message.budget !== undefined && { budget: message.budget }),
  };
}

function budgetStatusOf(budget: DocumentMessage['budget']): BudgetStatus | undefined {
  if (budget === undefined || budget === null) return undefined;
  const status = budget.status;
  if (!BUDGET_STATUSES.includes(status as BudgetStatus)) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `msg.budget.status must be one of ${BUDGET_STATUSES.join(', ')}, not ${JSON.stringify(status)}: ` +
        'pass the message from finance-budget-check unchanged, or remove msg.budget.',
      { details: { field: 'budget.status' } },
    );
  }
  return status as BudgetStatus;
}

function eventKeyOf(finance: DocumentMessage['finance']): string | undefined {
  const source = finance?.source;
  const id = finance?.id;
  return typeof source === 'string' && typeof id === 'string' ? inboxKey(source, id) : undefined;
}

/** Positive when the report is a newer version than `known`; 0 when either has no version. */
function compareVersions(report: ExpenseReport, known: number | undefined): number {
  const version = report.sourceRef.version;
  return version === undefined || known === undefined ? 0 : Math.sign(version - known);
}

function stale(report: ExpenseReport, known: number | undefined): FinanceError {
  return new FinanceError(
    'STALE_VERSION',
    `Version ${report.sourceRef.version} of ${report.sourceRef.system}/${report.sourceRef.id} is older than version ` +
      `${known}, which is already being approved or was decided; the older version is not approved again.`,
    { details: { sourceRef: report.sourceRef, knownVersion: known } },
  );
}

function notFound(input: DecisionInput): FinanceError {
  const what =
    'subject' in input.target
      ? `${input.target.subject.system}/${input.target.subject.id}`
      : `report ${input.target.reportId}`;
  return new FinanceError(
    'APPROVAL_NOT_FOUND',
    `No approval of ${what} is pending or recently decided at this node; check the document id, ` +
      'and that the document reached this finance-approval node before the decision.',
    { details: { target: input.target, decidedBy: input.decision.approver } },
  );
}

/**
 * A document without versions whose content differs from the one known: a changed document, not a redelivery.
 * False when the known approval was stored without a digest (before digests were kept): treated as before.
 */
function changedWithoutVersion(
  report: ExpenseReport,
  knownVersion: number | undefined,
  digest: string | undefined,
  knownDigest: string | undefined,
): boolean {
  return (
    report.sourceRef.version === undefined &&
    knownVersion === undefined &&
    digest !== undefined &&
    knownDigest !== undefined &&
    digest !== knownDigest
  );
}

/**
 * Refuses a decision that names a version of the document other than the approval's (pending or decided): the
 * approver decided on what they saw, and the document changed since (or has not reached this node yet).
 * A decision without a version, or about a document without versions, is left to the timing checks.
 */
function checkVersion(
  input: DecisionInput,
  record: ApprovalRecord,
  known: number | undefined,
  state: 'pending' | 'decided',
): void {
  const version = 'subject' in input.target ? input.target.subject.version : input.target.version;
  if (version === undefined || known === undefined || version === known) return;
  const entry = currentEntry(record);
  const who = entry?.approver ?? input.decision.approver;
  const what = `${record.sourceRef.system}/${record.sourceRef.id}`;
  throw new FinanceError(
    'APPROVER_NOT_ALLOWED',
    state === 'pending'
      ? `Decision "${input.decision.decision}" by ${input.decision.approver} on ${what} was refused: it is about ` +
          `version ${version}, but version ${known} is the one pending; ${who} must decide again on version ${known}.`
      : `Decision "${input.decision.decision}" by ${input.decision.approver} on ${what} was refused: it is about ` +
          `version ${version}, but version ${known} is the one this node approved or refused (${record.state}); ` +
          'a decision on another version needs that version to be submitted.',
    {
      details: {
        sourceRef: record.sourceRef,
        decidedBy: input.decision.approver,
        state: record.state,
        stage: record.stage,
        expectedApprover: entry?.approver,
        decisionVersion: version,
        [state === 'pending' ? 'pendingVersion' : 'decidedVersion']: known,
      },
    },
  );
}
