import { createCloudEventsProfile } from '../../../lib/sources/profiles/cloudevents';
import { financeErrorOf } from './helpers';

type Json = Record<string, any>;

function expenseEvent(): Json {
  return {
    specversion: '1.0',
    id: 'evt-ER-000042-1',
    source: 'urn:acme:expenses',
    type: 'com.acme.expense-report.submitted',
    subject: 'ER-000042',
    time: '2026-11-27T12:00:00Z',
    datacontenttype: 'application/json',
    data: {
      docType: 'ExpenseReport',
      sourceRef: { system: 'acme', id: 'ER-000042', version: 3 },
      reportId: 'ER-000042',
      employeeId: 'E1001',
      state: 'submitted',
      total: { amount: '12.30', currency: 'EUR' },
      lines: [
        {
          lineId: 'ER-000042-1',
          date: '2026-11-20',
          amount: { amount: '12.30', currency: 'EUR' },
          dimensions: { costCenter: 'CC-100', glAccount: '6100' },
        },
      ],
    },
  };
}

const profile = createCloudEventsProfile();

describe('the CloudEvents profile', () => {
  it('reads the envelope of a structured event whose data is a canonical expense report', () => {
    expect(profile.envelopeOf(expenseEvent())).toEqual({
      id: 'evt-ER-000042-1',
      source: 'urn:acme:expenses',
      type: 'com.acme.expense-report.submitted',
      subject: 'ER-000042',
      time: '2026-11-27T12:00:00Z',
      docType: 'ExpenseReport',
      docId: 'ER-000042',
      version: 3,
    });
    expect(profile.embedsCanonical).toBe(true);
    expect(profile.signatureScheme).toBe('generic');
  });

  it('takes the document type and id from the data, so requisitions pass too', () => {
    const event = expenseEvent();
    event.data = {
      docType: 'Requisition',
      sourceRef: { system: 'acme', id: 'REQ-7' },
      requisitionId: 'REQ-7',
    };
    delete event.subject;
    expect(profile.envelopeOf(event)).toEqual({
      id: 'evt-ER-000042-1',
      source: 'urn:acme:expenses',
      type: 'com.acme.expense-report.submitted',
      time: '2026-11-27T12:00:00Z',
      docType: 'Requisition',
      docId: 'REQ-7',
    });
  });

  it('returns the data as the canonical document', () => {
    const event = expenseEvent();
    expect(profile.toCanonical(event)).toBe(event.data);
  });

  it('accepts JSON media types with parameters or a +json suffix', () => {
    for (const type of ['application/json; charset=utf-8', 'application/vnd.acme+json']) {
      expect(() => profile.envelopeOf({ ...expenseEvent(), datacontenttype: type })).not.toThrow();
    }
    const withoutType = expenseEvent();
    delete withoutType.datacontenttype;
    expect(() => profile.envelopeOf(withoutType)).not.toThrow();
  });

  it.each([
    ['/specversion', (event: Json) => delete event.specversion, 'binary-mode'],
    ['/specversion', (event: Json) => (event.specversion = '0.3'), 'must be "1.0"'],
    ['/id', (event: Json) => (event.id = ''), 'non-empty string'],
    ['/source', (event: Json) => delete event.source, 'non-empty string'],
    ['/type', (event: Json) => (event.type = 5), 'non-empty string'],
    ['/time', (event: Json) => delete event.time, 'is missing'],
    ['/time', (event: Json) => (event.time = 'Friday'), 'RFC 3339'],
    ['/subject', (event: Json) => (event.subject = 12), 'non-empty string'],
    ['/datacontenttype', (event: Json) => (event.datacontenttype = 'application/xml'), 'JSON media type'],
    ['/data_base64', (event: Json) => (event.data_base64 = 'e30='), 'binary data'],
    ['/data', (event: Json) => (event.data = '{"docType":"ExpenseReport"}'), 'JSON object'],
    ['/data/docType', (event: Json) => (event.data.docType = 'Invoice'), 'ExpenseReport'],
    ['/data/reportId', (event: Json) => delete event.data.reportId, 'non-empty string'],
    ['/data/sourceRef', (event: Json) => delete event.data.sourceRef, 'JSON object'],
    ['/data/sourceRef/id', (event: Json) => (event.data.sourceRef.id = null), 'non-empty string'],
    ['/data/sourceRef/version', (event: Json) => (event.data.sourceRef.version = 1.5), 'whole number'],
  ])('rejects an event with a bad %s (%#), naming the field', (path, change, problem) => {
    const event = expenseEvent();
    change(event);
    const error = financeErrorOf(() => profile.envelopeOf(event));
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.message).toContain(`CloudEvent ${path}: `);
    expect(error.message).toContain(problem);
    expect(error.message).toContain('structured mode');
  });

  it('checks the envelope attributes in envelopeOf and the document in toCanonical', () => {
    const event = expenseEvent();
    delete event.id;
    expect(profile.toCanonical(event)).toBe(event.data);
    event.data.docType = 'Invoice';
    expect(financeErrorOf(() => profile.toCanonical(event)).message).toContain('/data/docType');
  });

  it('rejects a body that is not a JSON object', () => {
    for (const body of [undefined, null, 'text', 42, [expenseEvent()]]) {
      const error = financeErrorOf(() => profile.envelopeOf(body));
      expect(error.code).toBe('SCHEMA_INVALID');
      expect(error.message).toContain('CloudEvent /: must be a JSON object');
    }
  });
});
