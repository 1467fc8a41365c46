import { endsJourney, writebackDocument, writebackOutcome } from '../../../lib/writeback/outcome';
import { writebackSettings } from '../../../lib/writeback/settings';
import { approvedReport } from '../posting/fixtures';

const erp = {
  system: 'demo-erp',
  dialect: 'sandbox',
  documentType: 'journal',
  documentId: 'd-1',
  number: 'JNL-000001',
  status: 'posted',
  httpStatus: 201,
};

describe('writebackOutcome', () => {
  it('is "posted" with the ERP reference (without delivery facts) when msg.erp is there', () => {
    const outcome = writebackOutcome({
      payload: approvedReport(),
      erp,
      approval: { state: 'approved' },
      finance: { correlationId: 'corr-1' },
    });
    expect(outcome).toEqual({
      system: 'concur',
      documentId: 'RPT-1001',
      status: 'posted',
      erpRef: {
        system: 'demo-erp',
        dialect: 'sandbox',
        documentType: 'journal',
        documentId: 'd-1',
        number: 'JNL-000001',
        status: 'posted',
      },
      correlationId: 'corr-1',
    });
  });

  it('uses payload.erpRef when msg.erp was dropped on the way', () => {
    const erpRef = { system: 'demo-erp', dialect: 'sandbox', documentType: 'journal', documentId: 'd-1' };
    expect(writebackOutcome({ payload: { ...approvedReport(), erpRef } })).toMatchObject({ status: 'posted', erpRef });
  });

  it('is the approval state when the document was not posted', () => {
    const outcome = writebackOutcome({ payload: approvedReport(), approval: { state: 'rejected' } });
    expect(outcome).toEqual({ system: 'concur', documentId: 'RPT-1001', status: 'rejected' });
  });

  it('says what is missing when there is nothing to write back, or no document', () => {
    expect(() => writebackOutcome({ payload: approvedReport() })).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining('msg.erp') }),
    );
    expect(() => writebackDocument({ docType: 'ExpenseReport' })).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining('sourceRef') }),
    );
    expect(() => writebackDocument('text')).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
  });

  it('ends the journey only for final statuses', () => {
    expect(['posted', 'paid', 'rejected', 'returned', 'cancelled'].every(endsJourney)).toBe(true);
    expect(['approved', 'escalated', 'pending_approval'].some(endsJourney)).toBe(false);
  });
});

describe('writebackSettings', () => {
  it('defaults to the webhook at api/v1/writebacks and keeps paths relative', () => {
    expect(writebackSettings({})).toEqual({ target: 'webhook', path: 'api/v1/writebacks' });
    expect(writebackSettings({ target: 'webhook', path: '/hooks/status' })).toEqual({
      target: 'webhook',
      path: 'hooks/status',
    });
    for (const path of ['https://evil.example/x', '../admin', 'a/../../b']) {
      expect(() => writebackSettings({ target: 'webhook', path })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
    }
  });

  it('reads the Concur fields and checks they are custom field ids', () => {
    expect(writebackSettings({ target: 'concur', numberField: 'custom15', statusField: 'orgUnit2' })).toEqual({
      target: 'concur',
      numberField: 'custom15',
      statusField: 'orgUnit2',
      userIdProperty: 'payload.employeeId',
    });
    expect(
      writebackSettings({ target: 'concur', numberField: 'custom1', userIdProperty: 'msg.payload.owner' }),
    ).toMatchObject({ userIdProperty: 'payload.owner' });
    expect(() => writebackSettings({ target: 'concur', numberField: 'reportNumber' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('ERP number field') }),
    );
    expect(() => writebackSettings({ target: 'concur' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('reads the MQTT broker and topic, refusing wildcards and unknown placeholders', () => {
    expect(writebackSettings({ target: 'mqtt', brokerUrl: 'mqtt://127.0.0.1:1883' })).toEqual({
      target: 'mqtt',
      brokerUrl: 'mqtt://127.0.0.1:1883',
      topicTemplate: 'finance/writeback/{system}/{documentId}',
    });
    expect(() => writebackSettings({ target: 'mqtt' })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('Broker') }),
    );
    expect(() => writebackSettings({ target: 'mqtt', brokerUrl: 'mqtt://h', topic: 'a/+/b' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => writebackSettings({ target: 'mqtt', brokerUrl: 'mqtt://h', topic: 'a/{secret}' })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('{secret}') }),
    );
  });

  it('refuses an unknown target', () => {
    expect(() => writebackSettings({ target: 'email' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('"email"') }),
    );
  });
});
