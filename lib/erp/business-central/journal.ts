/**
 * Postings as general journals: the line bodies, the post through the posting's own batch (journal-batch.ts),
 * and the check that a journal found in the G/L under the document number is this posting.
 */
import { FinanceError } from '../../errors';
import { fromMinorUnits, minorOf } from '../../model/money';
import type { Money } from '../../model/types';
import { jsonNumber } from '../json-number';
import type { CallContext, PostingRef, PostingRequest } from '../dialect';
import { fitReference } from '../reference';
import type { Entity } from './odata';
import { BC_LENGTHS, documentNumberOf, invalidPosting, taxCodeField, UPPER } from './fields';
import { dropBatch, missingLines, postingBatch } from './journal-batch';
import { quote } from './odata';
import type { BcContext } from './context';
import { journalDifferences, type Comparison } from './journal-comparison';

/**
 * A journal goes through a batch of its own, never the shared one: `Microsoft.NAV.post` posts every line of
 * a batch, so in a shared batch one report's post would also post another report's lines left by a failed
 * attempt (booking that report in part). Lines an earlier attempt left in this batch are compared with the
 * posting and only the missing ones are inserted; the G/L total is checked after the post.
 */
export async function postJournal(
  bc: BcContext,
  posting: PostingRequest,
  lines: Entity[],
  expected: bigint,
  ctx: CallContext,
): Promise<PostingRef> {
  const documentNumber = documentNumberOf(posting.externalReference);
  const batch = await postingBatch(bc, posting.externalReference, ctx);
  const path = `${await bc.standardPath()}/journals(${String(batch.id)})`;
  const waiting = await bc.all(`${path}/journalLines`, { $expand: 'dimensionSetLines' }, ctx);
  for (const line of missingLines(bc, waiting, lines, batch, documentNumber, posting.currency)) {
    await bc.call({ method: 'POST', path: `${path}/journalLines`, body: line }, ctx);
  }
  await bc.call({ method: 'POST', path: `${path}/Microsoft.NAV.post` }, ctx);
  const posted = await findJournal(bc, posting.externalReference, ctx);
  if (!posted)
    throw bc.unexpected('the posted journal', `no general ledger entries with document number ${documentNumber}`);
  const complete = await completePosting(bc, posted, expected, posting, 'own-post', ctx);
  await dropBatch(bc, path, ctx);
  return complete;
}

/** The journal line bodies, checked before anything is sent (account, amount as an exact JSON number). */
export function journalLineBodies(bc: BcContext, posting: PostingRequest): Entity[] {
  const documentNumber = documentNumberOf(posting.externalReference);
  return posting.lines.map((line, index) => {
    const where = `lines[${index}]`;
    if (!line.dimensions.glAccount)
      throw invalidPosting(`${where}: dimensions.glAccount is required; BC posts the line to it`);
    const description = line.description ?? posting.externalReference;
    return {
      accountType: 'G_x002F_L_x0020_Account',
      accountNumber: line.dimensions.glAccount,
      postingDate: posting.postingDate,
      documentNumber,
      externalDocumentNumber: fitReference(posting.externalReference, BC_LENGTHS.externalDocumentNumber, UPPER),
      amount: jsonNumber(line.amount.amount, `journal ${where}.amount`),
      description: description.slice(0, BC_LENGTHS.description),
      // The journal amount includes VAT: BC splits the input tax out by the VAT Prod. Posting Group.
      ...taxCodeField(line.taxCode, `journal ${where}.taxCode`, invalidPosting),
      dimensionSetLines: bc.dimensionSetLines(line.dimensions),
    };
  });
}

/**
 * A journal found in the G/L is this posting only when it booked the posting's lines: the same total, and
 * per G/L account and dimensions the same amounts (journal-comparison.ts, compared as `comparison` says).
 * Anything else was posted in part, differently, or is another version of the report, and needs a person,
 * not a second post.
 */
export async function completePosting(
  bc: BcContext,
  found: JournalFound,
  expected: bigint,
  posting: PostingRequest,
  comparison: Comparison,
  ctx: CallContext,
): Promise<PostingRef> {
  const ref = withoutEntries(found);
  const booked = ref.total ? minorOf(ref.total) : undefined;
  const want = fromMinorUnits(expected, posting.currency);
  if (booked !== expected) {
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${bc.system}" (Business Central) has general ledger entries for document ${String(ref.number)} that total ${ref.total ? `${ref.total.amount} ${ref.total.currency}` : 'an amount the dialect cannot read'}, but the posting totals ${want.amount} ${want.currency}: it was posted in part, differently, or is another version of the report. Do not retry: compare the G/L entries of that document in Business Central with the report, post the missing lines or reverse the entries by hand, then mark the posting as done.`,
      {
        retryable: false,
        details: { documentNumber: ref.number, booked: ref.total, expected: want },
      },
    );
  }
  const differences = await journalDifferences(bc, found.entries, posting, comparison, ctx);
  if (differences.length === 0) return ref;
  throw new FinanceError(
    'ERP_CONFLICT',
    `ERP "${bc.system}" (Business Central) has general ledger entries for document ${String(ref.number)} with the posting's total ${want.amount} ${want.currency}, but not its lines: ${differences.join('; ')}. It is another version of the report (re-coded or re-split) or was changed in Business Central, so it is not taken as this posting and nothing was posted. Do not retry: reverse the document in Business Central and post this version by hand, or keep what is booked, then mark the posting as done. (A cost center or project that Business Central added as a G/L account's default dimension shows here as a difference too, since API v2.0 does not publish those defaults: if that is all, the document is this posting; mark it as done.)`,
    { retryable: false, details: { documentNumber: ref.number, differences } },
  );
}

/** A posted journal by its document number in the G/L, with what it booked and its entries, or null. */
export async function findJournal(
  bc: BcContext,
  externalReference: string,
  ctx: CallContext,
): Promise<JournalFound | null> {
  const documentNumber = documentNumberOf(externalReference);
  const entries = await bc.all(
    `${await bc.standardPath()}/generalLedgerEntries`,
    { $filter: `documentNumber eq ${quote(documentNumber)}`, $expand: 'dimensionSetLines' },
    ctx,
  );
  if (entries.length === 0) return null;
  return {
    system: bc.system,
    dialect: bc.dialect,
    documentType: 'posting',
    documentId: documentNumber,
    number: documentNumber,
    status: 'posted',
    postedAt: String(entries[0].lastModifiedDateTime ?? entries[0].postingDate),
    total: await bookedTotal(bc, entries, ctx),
    entries,
  };
}

/**
 * What a journal document booked, in the local currency: the net of its G/L entries except those on the
 * balancing account of the configured batch (VAT entries count, so a gross line amount still matches). With
 * no balancing account the lines balance each other and the net is 0, like the posting's total.
 */
async function bookedTotal(bc: BcContext, entries: Entity[], ctx: CallContext): Promise<Money> {
  const local = await bc.localCurrency(ctx);
  const balancing = (await bc.configuredJournal(ctx)).balancingAccountNumber;
  const net = entries
    .filter((entry) => !balancing || entry.accountNumber !== balancing)
    .reduce(
      (sum, entry) =>
        sum + bc.minor(entry.debitAmount, local, 'debitAmount') - bc.minor(entry.creditAmount, local, 'creditAmount'),
      0n,
    );
  return fromMinorUnits(net, local);
}

/** A journal found in the G/L: its reference and the entries it booked (with their dimension set lines). */
type JournalFound = PostingRef & { entries: Entity[] };

export function withoutEntries(found: JournalFound): PostingRef {
  const ref: PostingRef & { entries?: Entity[] } = { ...found };
  delete ref.entries;
  return ref;
}
