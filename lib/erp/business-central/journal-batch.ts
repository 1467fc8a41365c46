/**
 * The journal batch of one posting (FS + 8 hex digits of its document number): created with the configured
 * batch's balancing account, its waiting lines compared with the posting before the post, dropped once
 * posted; and the refusal of this document's lines left in the shared batch by earlier versions.
 */
import { createHash } from 'node:crypto';
import { FinanceError } from '../../errors';
import type { CallContext } from '../dialect';
import { fitReference } from '../reference';
import type { Entity } from './odata';
import { BC_LENGTHS, documentNumberOf, sameTaxCode } from './fields';
import { EMPTY_GUID, dimensionsOf, etagOf, quote } from './odata';
import type { BcContext } from './context';

/**
 * This posting's own batch: found by its code, or created with the balancing account of the configured
 * batch (journals are insertable and deletable in API v2.0 [S metadata; D dynamics_journal_create]).
 */
export async function postingBatch(bc: BcContext, externalReference: string, ctx: CallContext): Promise<Entity> {
  const journals = `${await bc.standardPath()}/journals`;
  const documentNumber = documentNumberOf(externalReference);
  // From the reference as the pack fitted it before document numbers were upper-cased, so a batch an
  // attempt of an earlier version left is found (and its lines compared) instead of a second one made.
  const code = batchCode(fitReference(externalReference, BC_LENGTHS.documentNumber));
  const displayName = `finance-sync ${documentNumber}`;
  const [found] = await bc.all(journals, { $filter: `code eq ${quote(code)}` }, ctx);
  if (found) {
    if (String(found.displayName).toUpperCase() !== displayName.toUpperCase()) {
      throw batchTaken(bc, code, found, documentNumber);
    }
    return found;
  }
  const configured = await bc.configuredJournal(ctx);
  const balancing = configured.balancingAccountId;
  const body: Entity = {
    code,
    displayName,
    ...(typeof balancing === 'string' && balancing !== EMPTY_GUID ? { balancingAccountId: balancing } : {}),
  };
  const { data } = await bc.call({ method: 'POST', path: journals, body }, ctx);
  return bc.entity(data, `the created journal batch ${code}`);
}

/**
 * A posting's own batch takes the configured batch's balancing account, which must be a G/L account: API
 * v2.0 names a bank or vendor balancing account only by number, `balancingAccountId` being the id of a G/L
 * account [D dynamics_journal: "The balancing G/L Account ID"]. Without one, each line would be booked on
 * its expense account alone; BC refuses a document out of balance [D], and the lines of an expense report
 * are all debits, so only a posting whose own lines add up to zero needs none. Checked before anything is
 * written.
 */
export async function requireBalancing(bc: BcContext, expected: bigint, ctx: CallContext): Promise<void> {
  const configured = await bc.configuredJournal(ctx);
  const id = configured.balancingAccountId;
  const hasId = typeof id === 'string' && id !== '' && id !== EMPTY_GUID;
  const number = configured.balancingAccountNumber;
  if (hasId) return;
  const where = `ERP "${bc.system}" (Business Central): the journal batch ${String(configured.code)}`;
  const advice =
    'Set a G/L account (the account expense reports are owed on, e.g. an employee expenses clearing account) as its balancing account (Bal. Account Type G/L Account) in Business Central (General Journals), or post expense reports as payables; then replay the dead letter.';
  if (typeof number === 'string' && number !== '') {
    throw new FinanceError(
      'CONFIG_INVALID',
      `${where} balances to account ${number}, which is not a G/L account, and API v2.0 can give a new batch only a G/L balancing account. ${advice}`,
      { retryable: false, details: { journal: configured.code, balancingAccountNumber: number } },
    );
  }
  if (expected === 0n) return; // the lines balance each other
  throw new FinanceError(
    'CONFIG_INVALID',
    `${where} has no balancing account, so each line of an expense report (all debits) would be booked without its credit, and Business Central refuses a document out of balance. ${advice}`,
    { retryable: false, details: { journal: configured.code } },
  );
}

function batchTaken(bc: BcContext, code: string, found: Entity, documentNumber: string): FinanceError {
  return new FinanceError(
    'ERP_CONFLICT',
    `ERP "${bc.system}" (Business Central) already has a general journal batch ${code} ("${String(found.displayName)}") that is not the batch of document ${documentNumber}; rename or delete that batch in Business Central (General Journals), then retry.`,
    { retryable: false, details: { journal: code, documentNumber } },
  );
}

/**
 * The lines still to insert: the posting's lines minus those an earlier attempt left in the batch. Waiting
 * lines that are no line of this posting (another document, or a changed line) need a person: posting the
 * batch would book them too. All of them are named at once (foreignLines), so one visit to BC clears them.
 */
export function missingLines(
  bc: BcContext,
  waiting: Entity[],
  lines: Entity[],
  batch: Entity,
  documentNumber: string,
  currency: string,
): Entity[] {
  const missing = [...lines];
  const foreign: Entity[] = [];
  for (const have of waiting) {
    const index = missing.findIndex((line) => sameJournalLine(bc, have, line, currency));
    if (index < 0) foreign.push(have);
    else missing.splice(index, 1);
  }
  if (foreign.length > 0) throw foreignLines(bc, foreign, batch, documentNumber);
  return missing;
}

function sameJournalLine(bc: BcContext, have: Entity, line: Entity, currency: string): boolean {
  const wanted = line.dimensionSetLines as Array<{ code: string; valueCode: string }>;
  return (
    have.documentNumber === line.documentNumber &&
    have.accountNumber === line.accountNumber &&
    have.postingDate === line.postingDate &&
    have.description === line.description &&
    sameTaxCode(have.taxCode, line.taxCode as string | undefined) &&
    typeof have.amount === 'number' &&
    bc.minor(have.amount, currency, 'journalLine.amount') === bc.minor(line.amount, currency, 'amount') &&
    // BC adds the G/L account's default dimensions to a line: only those the pack sent must match.
    wanted.every((dimension) => dimensionsOf(have.dimensionSetLines)[dimension.code] === dimension.valueCode)
  );
}

/**
 * The error for waiting lines that are not this posting's, naming each by its Line No. so the person deletes
 * exactly those. The pack does not delete them itself, although those of this document number can only be
 * its own (the batch is the document's): the ledger keeps one marker per version of a report, so another
 * version of it may be on its way through this same batch at this moment, and a line it has just inserted
 * looks exactly like one an interrupted attempt left. Deleting it would make that attempt post its report in
 * part. A person can see that no other version is being posted; the pack cannot.
 */
function foreignLines(bc: BcContext, foreign: Entity[], batch: Entity, documentNumber: string): FinanceError {
  const code = String(batch.code);
  const numbers = foreign.map((line) => String(line.lineNumber));
  const described = foreign
    .map(
      (line) =>
        `Line No. ${String(line.lineNumber)} (document ${String(line.documentNumber)}, G/L account ${String(line.accountNumber)}, amount ${String(line.amount)}, posting date ${String(line.postingDate)})`,
    )
    .join('; ');
  const ownDocument = foreign.every((line) => line.documentNumber === documentNumber);
  const origin = ownDocument
    ? `${foreign.length === 1 ? 'It was' : 'They were'} left, never posted, by an interrupted attempt at another version or posting date of this document.`
    : 'Lines of another document were put in this batch.';
  const advice = `In Business Central, open General Journals, batch ${code}, and delete ${foreign.length === 1 ? 'that line' : 'those lines'} (Line No. ${numbers.join(', ')}) and no other: the batch's other lines, if any, are this version's and are kept. Do this only once no other version of this report is being posted (none waits for a retry); finance-sync cannot tell a line left behind from one another version is inserting at this moment, so it does not delete them itself. Then replay this posting.`;
  return new FinanceError(
    'ERP_CONFLICT',
    `ERP "${bc.system}" (Business Central): journal batch ${code} holds ${foreign.length} line(s) that are not part of document ${documentNumber} as it is posted now: ${described}. Posting the batch would book them too, so nothing was posted. ${origin} ${advice}`,
    {
      retryable: false,
      details: {
        journal: batch.code,
        documentNumber,
        lineDocumentNumber: foreign[0].documentNumber,
        foreignLines: foreign.map((line) => ({
          lineNumber: line.lineNumber,
          documentNumber: line.documentNumber,
          accountNumber: line.accountNumber,
          amount: line.amount,
          postingDate: line.postingDate,
        })),
      },
    },
  );
}

/**
 * Earlier versions of the pack inserted a report's lines into the configured (shared) batch. Lines of this
 * document still waiting there, left by an attempt that stopped before the post, would be booked a second
 * time whenever someone posts that batch; so the posting stops for a person instead.
 */
export async function refuseLinesInSharedBatch(bc: BcContext, documentNumber: string, ctx: CallContext): Promise<void> {
  const shared = await bc.configuredJournal(ctx);
  const waiting = await bc.all(
    `${await bc.standardPath()}/journals(${String(shared.id)})/journalLines`,
    { $filter: `documentNumber eq ${quote(documentNumber)}` },
    ctx,
  );
  if (waiting.length === 0) return;
  throw new FinanceError(
    'ERP_CONFLICT',
    `ERP "${bc.system}" (Business Central): ${waiting.length} line(s) of document ${documentNumber} wait in the general journal batch ${bc.journalCode}, left by an interrupted attempt of an earlier version of finance-sync. Nothing was posted: post that batch in Business Central (General Journals) if the lines are complete, or delete them, then replay this posting.`,
    { retryable: false, details: { journal: bc.journalCode, documentNumber, waitingLines: waiting.length } },
  );
}

/** The posted batch is empty; removing it keeps General Journals tidy. Failing to is harmless, so ignored. */
export async function dropBatch(bc: BcContext, path: string, ctx: CallContext): Promise<void> {
  try {
    const { data } = await bc.call({ method: 'GET', path }, ctx);
    const batch = bc.entity(data, 'the posted journal batch');
    await bc.call({ method: 'DELETE', path, ifMatch: etagOf(batch) }, ctx);
  } catch {
    // An empty batch left behind books nothing; the next attempt of this document would reuse it.
  }
}

/**
 * The code (Code[10]) of a posting's own journal batch: "FS" and 8 hex digits of a hash of the document
 * number, the same on every attempt. A clash with another document's batch is caught by its displayName.
 */
function batchCode(documentNumber: string): string {
  return `FS${createHash('sha256').update(documentNumber).digest('hex').slice(0, 8).toUpperCase()}`;
}
