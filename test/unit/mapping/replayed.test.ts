import { mapWithProfile, remapReplayed, type MappingOutcome } from '../../../lib/mapping';
import { getProfile } from '../../../lib/sources/profiles';
import { canonicalReport, CONCUR_OPTIONS, concurSampleEntries, concurSampleReport } from './samples';

describe('remapReplayed: a message replayed from the dead letters after it failed behind the mapping', () => {
  const target = { docType: 'ExpenseReport' as const };
  const concur = getProfile('concur', CONCUR_OPTIONS);
  const mappedConcurReport = (): Record<string, any> => {
    const outcome = mapWithProfile(concur, concurSampleReport(), concurSampleEntries(), target);
    if (!outcome.valid) throw new Error('the Concur sample should map');
    return outcome.document as Record<string, any>;
  };

  it('validates a canonical document again instead of mapping it again with the source profile', () => {
    const document = mappedConcurReport();
    // The Concur profile cannot read its own output: this is what a replay met before.
    expect(mapWithProfile(concur, document, undefined, target).valid).toBe(false);
    const outcome = remapReplayed(document, target);
    expect(outcome).toEqual({ valid: true, docType: 'ExpenseReport', docId: document.reportId, document });
  });

  it('still refuses a replayed canonical document that breaks a rule, naming the field', () => {
    const report = canonicalReport();
    report.lines[0].amount = { amount: 12.5, currency: 'EUR' };
    const outcome = remapReplayed(report, target) as MappingOutcome;
    expect(outcome.valid).toBe(false);
    expect(outcome.valid === false && outcome.errors.map((error) => error.path)).toContain('/lines/0/amount/amount');
  });

  it.each([
    ['a source document (Concur)', concurSampleReport()],
    ['a document type without a source reference', { docType: 'ExpenseReport' }],
    ['text', 'ER-1001'],
    ['nothing', undefined],
  ])('leaves %s to the mapping', (_what, payload) => {
    expect(remapReplayed(payload, target)).toBeUndefined();
  });
});
