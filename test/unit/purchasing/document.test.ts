import {
  eventDate,
  externalReferenceOf,
  isCancel,
  purchaseDocumentOf,
  toPurchaseOrder,
  versionOf,
} from '../../../lib/purchasing/document';
import type { PurchaseOrder } from '../../../lib/model/types';
import { requisition } from './fixtures';

describe('reading a purchase document', () => {
  it('accepts a Requisition or a PurchaseOrder and throws SCHEMA_INVALID for anything else, saying what it got', () => {
    expect(purchaseDocumentOf(requisition()).docType).toBe('Requisition');
    expect(() => purchaseDocumentOf('hello')).toThrow(expect.objectContaining({ code: 'SCHEMA_INVALID' }));
    expect(() => purchaseDocumentOf(null)).toThrow(/not a null/);
    expect(() => purchaseDocumentOf([])).toThrow(/not a list/);
    expect(() => purchaseDocumentOf({ reportId: 'x' })).toThrow(/without docType/);
    expect(() => purchaseDocumentOf({ docType: 'ExpenseReport' })).toThrow(/docType "ExpenseReport".*finance-map/);
  });

  it('knows a cancel: the requisition flag or state, or a cancelled PurchaseOrder', () => {
    expect(isCancel(requisition())).toBe(false);
    expect(isCancel(requisition({ cancelled: true }))).toBe(true);
    expect(isCancel(requisition({ state: 'cancelled' }))).toBe(true);
    const po = toPurchaseOrder(requisition(), '2026-03-10');
    expect(isCancel(po)).toBe(false);
    expect(isCancel({ ...po, status: 'cancelled' })).toBe(true);
  });

  it('takes the version from sourceRef, else from msg.finance, and refuses two different ones', () => {
    expect(versionOf(requisition(), { version: 1 })).toBe(1);
    expect(versionOf(requisition(), undefined)).toBe(1);
    const unversioned = requisition({ sourceRef: { system: 'coupa', id: 'REQ-1001' } });
    expect(versionOf(unversioned, { version: 4 })).toBe(4);
    expect(versionOf(unversioned, { version: null })).toBeUndefined();
    expect(versionOf(unversioned, {})).toBeUndefined();
    expect(() => versionOf(requisition(), { version: 2 })).toThrow(
      expect.objectContaining({ code: 'SCHEMA_INVALID', message: expect.stringContaining('same revision') }),
    );
    expect(() => versionOf(unversioned, { version: '2' })).toThrow(/whole number/);
    expect(() => versionOf(unversioned, { version: -1 })).toThrow(/whole number/);
  });
});

describe('a requisition as a purchase order', () => {
  it('carries the supplier, currency, total and lines, an external reference from its source, and the date given', () => {
    const req = requisition();
    const po = toPurchaseOrder(req, '2026-03-10');
    expect(po).toEqual({
      docType: 'PurchaseOrder',
      sourceRef: req.sourceRef,
      externalReference: 'coupa:REQ-1001',
      supplierId: 'SUP-1001',
      company: 'FS-DEMO',
      orderDate: '2026-03-10',
      currency: 'EUR',
      total: req.total,
      lines: req.lines,
      status: 'open',
    });
    expect(po.lines[0].accountAssignments).toHaveLength(2);
    expect(externalReferenceOf(req)).toBe('coupa:REQ-1001');
  });

  it('keeps a PurchaseOrder as it is, with its own external reference and order date', () => {
    const po: PurchaseOrder = { ...toPurchaseOrder(requisition(), '2026-01-02'), externalReference: 'ERP-REF-7' };
    expect(toPurchaseOrder(po, '2026-12-31')).toBe(po);
    expect(externalReferenceOf(po)).toBe('ERP-REF-7');
  });

  it("dates a new order on the day of its event on the host's calendar, or today without a usable event time", () => {
    const now = new Date('2026-05-05T12:00:00Z');
    expect(eventDate({ time: '2026-03-10T23:30:00-02:00' }, now, 'UTC')).toBe('2026-03-11');
    expect(eventDate({ time: '2026-03-10T23:30:00-02:00' }, now, 'America/Sao_Paulo')).toBe('2026-03-10');
    expect(eventDate({ time: 'yesterday' }, now, 'UTC')).toBe('2026-05-05');
    expect(eventDate(undefined, now, 'Pacific/Auckland')).toBe('2026-05-06');
  });
});
