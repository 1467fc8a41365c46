import { getProfile, isProfileName } from '../../../lib/sources/profiles';
import {
  COUPA_PURCHASE_ORDER_STATUS,
  coupaContentDigest,
  createCoupaProfile,
  type CoupaProfileOptions,
} from '../../../lib/sources/profiles/coupa';
import { validateDocument } from '../../../lib/model/validate';
import type { PurchaseOrder, Requisition } from '../../../lib/model/types';
import { financeErrorOf } from './helpers';

type Json = Record<string, any>;

const UPDATED_AT = '2025-03-15T10:00:05-07:00';
const OPTIONS: CoupaProfileOptions = {
  costCenterSegment: 'segment-2',
  glAccountSegment: 'segment-3',
  projectSegment: 'segment-4',
  company: 'FS-DEMO',
};

function account(costCenter: string, glAccount = '6300', project = 'PRJ-2001'): Json {
  return {
    id: 31,
    name: `${costCenter} ${glAccount}`,
    code: `FSDEMO-${costCenter}-${glAccount}-${project}`,
    active: true,
    'segment-1': 'FSDEMO',
    'segment-2': costCenter,
    'segment-3': glAccount,
    'segment-4': project,
    'account-type': { id: 1, name: 'FS-DEMO' },
  };
}

const EUR = { id: 2, code: 'EUR', decimals: 2 };
const SUPPLIER = { id: 7002, name: 'Contoso Hardware GmbH', number: 'SUP-1002' };

/** A requisition as GET /api/requisitions returns it: hyphenated keys, decimals as strings. */
function requisition(): Json {
  return {
    id: 4711,
    'created-at': '2025-03-14T09:00:00-07:00',
    'updated-at': UPDATED_AT,
    status: 'approved',
    'submitted-at': '2025-03-14T09:30:00-07:00',
    exported: false,
    'need-by-date': '2025-04-30T00:00:00-07:00',
    'requested-by': { id: 117, login: 'ytanaka', email: 'yuki.tanaka@fs-demo.example', 'employee-number': 'E1017' },
    currency: EUR,
    total: '3218.00',
    'requisition-lines': [
      {
        id: 5001,
        'line-num': 1,
        'line-type': 'RequisitionQuantityLine',
        description: 'Laptop 14" developer edition',
        quantity: '2.0',
        'unit-price': '1499.000000',
        total: '2998.00',
        currency: EUR,
        uom: { id: 1, code: 'EA' },
        'need-by-date': '2025-04-15T00:00:00-07:00',
        item: { id: 88, name: 'Laptop 14', 'item-number': 'HW-LT14' },
        supplier: SUPPLIER,
        account: account('CC-400'),
        'account-allocations': [],
      },
      {
        id: 5002,
        'line-num': 2,
        description: 'USB-C docking station',
        quantity: '2.0',
        'unit-price': '110.00',
        total: '220.00',
        currency: EUR,
        'source-part-num': 'DOCK-C',
        supplier: SUPPLIER,
        account: account('CC-400'),
        'account-allocations': [
          { id: 1, pct: '50.0000000000', amount: '110.0000', account: account('CC-400') },
          { id: 2, pct: '50.0000000000', amount: '110.0000', account: account('CC-500') },
        ],
      },
    ],
  };
}

function purchaseOrder(): Json {
  return {
    id: 501,
    'po-number': 'PO-501',
    'created-at': '2025-03-14T11:00:00+01:00',
    'updated-at': '2025-03-15T08:00:00+01:00',
    status: 'issued',
    version: 3,
    exported: false,
    currency: EUR,
    supplier: { id: 7001, name: 'Office Depot Europe', number: 'SUP-1001' },
    total: '91.80',
    'order-lines': [
      {
        id: 9001,
        'line-num': 1,
        description: 'A4 paper, 5 reams',
        quantity: '2.0',
        price: '45.90',
        total: '91.80',
        currency: EUR,
        account: account('CC-500'),
        'account-allocations': [],
      },
    ],
  };
}

function map(change: (doc: Json) => void = () => undefined, options: CoupaProfileOptions = OPTIONS): Requisition {
  const doc = requisition();
  change(doc);
  return createCoupaProfile(options).toCanonical(doc) as Requisition;
}

function mapError(change: (doc: Json) => void, options: CoupaProfileOptions = OPTIONS) {
  return financeErrorOf(() => map(change, options));
}

const eur = (amount: string) => ({ amount, currency: 'EUR' });

describe('the coupa profile: requisitions', () => {
  it('maps a Coupa requisition to a valid canonical requisition', () => {
    const mapped = map();
    expect(mapped).toEqual({
      docType: 'Requisition',
      sourceRef: { system: 'coupa', id: '4711', version: Date.parse(UPDATED_AT) },
      requisitionId: '4711',
      requesterId: 'E1017',
      supplierId: 'SUP-1002',
      company: 'FS-DEMO',
      state: 'approved',
      currency: 'EUR',
      total: eur('3218.00'),
      lines: [
        {
          lineId: '1',
          description: 'Laptop 14" developer edition',
          itemCode: 'HW-LT14',
          quantity: '2',
          unitOfMeasure: 'EA',
          unitPrice: eur('1499.00'),
          amount: eur('2998.00'),
          needBy: '2025-04-15',
          accountAssignments: [
            { dimensions: { costCenter: 'CC-400', glAccount: '6300', project: 'PRJ-2001' }, percent: '100' },
          ],
        },
        {
          lineId: '2',
          description: 'USB-C docking station',
          itemCode: 'DOCK-C',
          quantity: '2',
          unitPrice: eur('110.00'),
          amount: eur('220.00'),
          needBy: '2025-04-30',
          accountAssignments: [
            { dimensions: { costCenter: 'CC-400', glAccount: '6300', project: 'PRJ-2001' }, percent: '50' },
            { dimensions: { costCenter: 'CC-500', glAccount: '6300', project: 'PRJ-2001' }, percent: '50' },
          ],
        },
      ],
    });
    expect(validateDocument('Requisition', mapped)).toEqual({ valid: true });
  });

  it('reads the envelope from the polled document, one event per revision', () => {
    const profile = createCoupaProfile({ instance: 'acme.coupahost.com' });
    const facts = profile.envelopeOf(requisition());
    const version = Date.parse(UPDATED_AT);
    expect(facts).toEqual({
      id: `requisition-4711-${version}-${coupaContentDigest(requisition())}`,
      source: 'coupa:acme.coupahost.com',
      type: 'coupa.requisition.approved',
      subject: '4711',
      time: UPDATED_AT,
      docType: 'Requisition',
      docId: '4711',
      version,
    });
    const revised = { ...requisition(), 'updated-at': '2025-03-15T10:00:06-07:00' };
    const next = profile.envelopeOf(revised);
    expect(next.version).toBe(version + 1000);
    expect(next.id).not.toBe(facts.id);
    expect(createCoupaProfile().envelopeOf(requisition()).source).toBe('coupa');
  });

  describe('a revision Coupa stamps with the same second as the one before', () => {
    const profile = createCoupaProfile();

    it('is a new event when its content differs, and the same event when only the export stamps do', () => {
      const first = profile.envelopeOf(requisition());
      const edited = requisition();
      edited['requisition-lines'][0].description = 'Edited in the same second';
      expect(profile.envelopeOf(edited).id).not.toBe(first.id);

      // The export mark's answer (exported, last-exported-at, updated-by and even updated-at moved), or the same
      // revision with its keys in another order: a redelivery, so the same id.
      const marked = {
        ...requisition(),
        exported: true,
        'last-exported-at': '2025-03-15T10:00:09-07:00',
        'updated-by': { id: 1, login: 'integration' },
      };
      expect(profile.envelopeOf(marked).id).toBe(first.id);
      const reordered = Object.fromEntries(Object.entries(requisition()).reverse());
      expect(profile.envelopeOf(reordered).id).toBe(first.id);
      expect(coupaContentDigest(reordered)).toBe(coupaContentDigest(requisition()));
      expect(coupaContentDigest(requisition())).toMatch(/^[0-9a-f]{16}$/);
    });

    it('gets a higher version when it moves the requisition on (cancelled, ordered), in the envelope and the document', () => {
      const approved = profile.envelopeOf(requisition());
      const cancelledDocument = { ...requisition(), status: 'cancelled' };
      const cancelled = profile.envelopeOf(cancelledDocument);
      const ordered = profile.envelopeOf({ ...requisition(), status: 'ordered' });
      expect(cancelled.id).not.toBe(approved.id);
      expect(ordered.version).toBeGreaterThan(approved.version!);
      expect(cancelled.version).toBeGreaterThan(ordered.version!);
      // Still below the next second's revision, and the same version the mapped document carries.
      expect(cancelled.version).toBeLessThan(Date.parse(UPDATED_AT) + 1000);
      expect((profile.toCanonical(cancelledDocument) as Requisition).sourceRef.version).toBe(cancelled.version);
      // A status mapped to "cancelled" by the instance's option counts as a cancellation too.
      const custom = createCoupaProfile({ approvalStatusMap: { voided: 'cancelled' } });
      expect(custom.envelopeOf({ ...requisition(), status: 'voided' }).version).toBe(cancelled.version);
    });
  });

  it('uses the allocation amounts when the percentages need more than 2 decimals', () => {
    const mapped = map((doc) => {
      const line = doc['requisition-lines'][1];
      line.quantity = '1';
      line['unit-price'] = '150.00';
      line.total = '150.00';
      line['account-allocations'] = [
        { pct: '66.6666666667', amount: '100.0000', account: account('CC-400') },
        { pct: '33.3333333333', amount: '50.0000', account: account('CC-500') },
      ];
      doc.total = '3148.00';
    });
    expect(mapped.lines[1].accountAssignments).toEqual([
      { dimensions: { costCenter: 'CC-400', glAccount: '6300', project: 'PRJ-2001' }, amount: eur('100.00') },
      { dimensions: { costCenter: 'CC-500', glAccount: '6300', project: 'PRJ-2001' }, amount: eur('50.00') },
    ]);
    expect(validateDocument('Requisition', mapped)).toEqual({ valid: true });
  });

  it('keeps two-decimal percentages such as 33.33 / 33.33 / 33.34', () => {
    const mapped = map((doc) => {
      doc['requisition-lines'][1]['account-allocations'] = ['33.33', '33.33', '33.34'].map((pct, index) => ({
        pct: `${pct}00000000`,
        amount: '73.3260',
        account: account(`CC-${index + 1}00`),
      }));
    });
    expect(mapped.lines[1].accountAssignments.map((split) => split.percent)).toEqual(['33.33', '33.33', '33.34']);
  });

  it('refuses splits that add up neither by percent nor by amount, naming the line', () => {
    const error = mapError((doc) => {
      doc['requisition-lines'][1]['account-allocations'] = [
        { pct: '66.6666666667', amount: '146.6667', account: account('CC-400') },
        { pct: '33.3333333333', amount: '73.3333', account: account('CC-500') },
      ];
    });
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.details?.path).toBe('/requisition-lines/1/account-allocations');
    expect(error.message).toMatch(/neither percentages .* nor amounts adding up to the line total 220.00 EUR/);
  });

  describe('amounts, as JSON strings or numbers, never through floats', () => {
    it('reads numbers that a person typed', () => {
      const mapped = map((doc) => {
        const line = doc['requisition-lines'][0];
        line.quantity = 2;
        line['unit-price'] = 1499;
        line.total = 2998.0;
        doc.total = 3218;
      });
      expect(mapped.lines[0]).toMatchObject({ quantity: '2', unitPrice: eur('1499.00'), amount: eur('2998.00') });
      expect(mapped.total).toEqual(eur('3218.00'));
    });

    it.each([
      ['a float sum as a number', 0.1 + 0.2],
      ['a float sum as a string', '0.30000000000000004'],
      ['sub-cent precision', '106.333'],
    ])('refuses %s rather than rounding it', (_, value) => {
      const error = mapError((doc) => {
        doc['requisition-lines'][0]['unit-price'] = value;
      });
      expect(error.code).toBe('INVALID_AMOUNT');
      expect(error.message).toContain('/requisition-lines/0/unit-price');
    });

    it.each([
      ['text', 'about 12'],
      ['a boolean', true],
      ['a negative amount', '-5.00'],
    ])('refuses %s as an amount', (_, value) => {
      const error = mapError((doc) => {
        doc['requisition-lines'][0].total = value;
      });
      expect(error.code).toBe('INVALID_AMOUNT');
      expect(error.message).toContain('/requisition-lines/0/total');
    });

    it('computes the line amount from quantity and unit price when Coupa sends no line total', () => {
      const mapped = map((doc) => {
        delete doc['requisition-lines'][0].total;
        doc['requisition-lines'][0].quantity = '1.5';
        doc.total = '2468.50';
      });
      expect(mapped.lines[0].amount).toEqual(eur('2248.50'));
    });

    it('maps an amount line without quantity as one unit at its total', () => {
      const mapped = map((doc) => {
        const line = doc['requisition-lines'][0];
        line['line-type'] = 'RequisitionAmountLine';
        line.quantity = null;
        delete line['unit-price'];
      });
      expect(mapped.lines[0]).toMatchObject({ quantity: '1', unitPrice: eur('2998.00'), amount: eur('2998.00') });
    });

    it('checks Coupa’s header total against the lines', () => {
      const error = mapError((doc) => {
        doc.total = '3218.01';
      });
      expect(error.details?.path).toBe('/total');
      expect(error.message).toContain('the lines add up to 3218.00 EUR');
    });
  });

  describe('statuses', () => {
    it.each([
      ['pending_approval', 'pending_approval'],
      ['ordered', 'approved'],
      ['withdrawn', 'returned'],
      ['rejected', 'rejected'],
      ['received', 'approved'],
      ['cart', 'draft'],
    ])('normalises %s to %s', (status, state) => {
      expect(map((doc) => (doc.status = status)).state).toBe(state);
    });

    it('marks a cancelled requisition as cancelled', () => {
      const mapped = map((doc) => (doc.status = 'cancelled'));
      expect(mapped).toMatchObject({ state: 'cancelled', cancelled: true });
      expect(map()).not.toHaveProperty('cancelled');
    });

    it('refuses an unknown status unless the instance maps it', () => {
      const error = mapError((doc) => (doc.status = 'frozen'));
      expect(error.code).toBe('SCHEMA_INVALID');
      expect(error.details?.path).toBe('/status');
      expect(error.message).toContain('approvalStatusMap');
      const mapped = map((doc) => (doc.status = 'frozen'), { ...OPTIONS, approvalStatusMap: { frozen: 'escalated' } });
      expect(mapped.state).toBe('escalated');
    });
  });

  describe('suppliers and requesters', () => {
    it('maps the supplier number as the ERP id by default, or the Coupa id, or through a map', () => {
      expect(map().supplierId).toBe('SUP-1002');
      expect(map(undefined, { ...OPTIONS, supplierIdFrom: 'id' }).supplierId).toBe('7002');
      expect(map(undefined, { ...OPTIONS, supplierIdMap: { 'SUP-1002': 'V-77' } }).supplierId).toBe('V-77');
      const error = mapError(() => undefined, { ...OPTIONS, supplierIdMap: { 'SUP-9': 'V-9' } });
      expect(error.details?.path).toBe('/requisition-lines/0/supplier/number');
      expect(error.message).toContain('supplierIdMap does not map');
    });

    it('refuses a requisition whose lines go to different suppliers', () => {
      const error = mapError((doc) => {
        doc['requisition-lines'][1].supplier = { id: 7001, number: 'SUP-1001' };
      });
      expect(error.details?.path).toBe('/requisition-lines/1/supplier');
      expect(error.message).toContain('split it in Coupa per supplier');
    });

    it('takes the requester id from the configured user field', () => {
      expect(map(undefined, { ...OPTIONS, requesterIdFrom: 'login' }).requesterId).toBe('ytanaka');
      const error = mapError((doc) => delete doc['requested-by']['employee-number']);
      expect(error.details?.path).toBe('/requested-by/employee-number');
      expect(error.message).toContain('requesterIdFrom');
    });
  });

  describe('bad shapes name the field', () => {
    it.each<[string, (doc: Json) => void, string, string]>([
      ['a string id', (doc) => (doc.id = '4711'), '/id', 'SCHEMA_INVALID'],
      ['no lines array', (doc) => (doc['requisition-lines'] = {}), '/requisition-lines', 'SCHEMA_INVALID'],
      ['no lines', (doc) => (doc['requisition-lines'] = []), '/requisition-lines', 'SCHEMA_INVALID'],
      [
        'a line without description',
        (doc) => delete doc['requisition-lines'][0].description,
        '/requisition-lines/0/description',
        'SCHEMA_INVALID',
      ],
      [
        'a line without price',
        (doc) => delete doc['requisition-lines'][0]['unit-price'],
        '/requisition-lines/0/unit-price',
        'SCHEMA_INVALID',
      ],
      [
        'a quantity with 7 decimals',
        (doc) => (doc['requisition-lines'][0].quantity = '1.0000001'),
        '/requisition-lines/0/quantity',
        'SCHEMA_INVALID',
      ],
      [
        'an account without the cost center segment',
        (doc) => delete doc['requisition-lines'][0].account['segment-2'],
        '/requisition-lines/0/account/segment-2',
        'SCHEMA_INVALID',
      ],
      [
        'an allocation without account',
        (doc) => delete doc['requisition-lines'][1]['account-allocations'][0].account,
        '/requisition-lines/1/account-allocations/0/account',
        'SCHEMA_INVALID',
      ],
      [
        'a bad need-by date',
        (doc) => (doc['requisition-lines'][0]['need-by-date'] = '2025-02-30'),
        '/requisition-lines/0/need-by-date',
        'SCHEMA_INVALID',
      ],
      ['no updated-at', (doc) => delete doc['updated-at'], '/updated-at', 'SCHEMA_INVALID'],
      ['a purchase order', (doc) => (doc['order-lines'] = []), '/order-lines', 'SCHEMA_INVALID'],
    ])('%s', (_, change, path, code) => {
      const error = mapError(change);
      expect(error.code).toBe(code);
      expect(error.details?.path).toBe(path);
      expect(error.message).toContain('Coupa requisition');
    });

    it('refuses a negative amount with the JSON pointer alone as its path', () => {
      const error = mapError((doc) => (doc['requisition-lines'][1]['unit-price'] = '-110.00'));
      expect(error.code).toBe('INVALID_AMOUNT');
      expect(error.details).toEqual({ document: 'Coupa requisition', path: '/requisition-lines/1/unit-price' });
      expect(error.message).toContain('Coupa requisition /requisition-lines/1/unit-price: "-110" is negative');
    });

    it('refuses an unknown currency and a line in another currency', () => {
      const unknown = mapError((doc) => (doc.currency = { code: 'XYZ' }));
      expect(unknown.code).toBe('UNKNOWN_CURRENCY');
      expect(unknown.details).toMatchObject({ document: 'Coupa requisition', path: '/currency/code' });
      expect(unknown.message).toContain('Coupa requisition /currency/code: "XYZ"');
      const unknownOnLine = mapError((doc) => (doc['requisition-lines'][1].currency = { code: 'eur' }));
      expect(unknownOnLine.details).toMatchObject({ path: '/requisition-lines/1/currency/code' });
      const mismatch = mapError((doc) => (doc['requisition-lines'][0].currency = { code: 'USD' }));
      expect(mismatch.code).toBe('CURRENCY_MISMATCH');
      expect(mismatch.details?.path).toBe('/requisition-lines/0/currency/code');
    });
  });

  describe('options', () => {
    it.each<[string, unknown]>([
      ['costCenterSegment', 'segment-21'],
      ['glAccountSegment', 3],
      ['supplierIdFrom', 'name'],
      ['requesterIdFrom', 'fullname'],
      ['supplierIdMap', { 'SUP-1': 5 }],
      ['approvalStatusMap', { frozen: 'thawed' }],
    ])('refuses %s = %j as a configuration error', (option, value) => {
      const error = financeErrorOf(() => createCoupaProfile({ [option]: value } as CoupaProfileOptions));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toContain(option);
    });

    it('maps the whole account code when asked to', () => {
      const mapped = map(undefined, { glAccountSegment: 'code' });
      expect(mapped.lines[0].accountAssignments[0].dimensions).toEqual({ glAccount: 'FSDEMO-CC-400-6300-PRJ-2001' });
    });
  });

  it('is registered as the coupa profile', () => {
    expect(isProfileName('coupa')).toBe(true);
    const profile = getProfile('coupa', OPTIONS);
    expect(profile).toMatchObject({ name: 'coupa', docType: 'Requisition', embedsCanonical: false });
    expect(profile.toCanonical(requisition())).toEqual(map());
  });
});

describe('the coupa profile: purchase orders', () => {
  const profile = createCoupaProfile(OPTIONS);
  const toPo = (change: (doc: Json) => void = () => undefined): PurchaseOrder => {
    const doc = purchaseOrder();
    change(doc);
    return profile.toPurchaseOrder(doc);
  };

  it('maps a Coupa purchase order with its PO number as the external reference', () => {
    const mapped = toPo();
    expect(mapped).toEqual({
      docType: 'PurchaseOrder',
      sourceRef: { system: 'coupa', id: '501', version: 3 },
      externalReference: 'PO-501',
      supplierId: 'SUP-1001',
      company: 'FS-DEMO',
      orderDate: '2025-03-14',
      currency: 'EUR',
      total: eur('91.80'),
      lines: [
        {
          lineId: '1',
          description: 'A4 paper, 5 reams',
          quantity: '2',
          unitPrice: eur('45.90'),
          amount: eur('91.80'),
          accountAssignments: [
            { dimensions: { costCenter: 'CC-500', glAccount: '6300', project: 'PRJ-2001' }, percent: '100' },
          ],
        },
      ],
      status: 'open',
    });
    expect(validateDocument('PurchaseOrder', mapped)).toEqual({ valid: true });
  });

  it('takes the version from Coupa’s PO version', () => {
    expect(profile.purchaseOrderEnvelopeOf(purchaseOrder())).toEqual({
      id: `purchase-order-501-3-${coupaContentDigest(purchaseOrder())}`,
      source: 'coupa',
      type: 'coupa.purchase_order.issued',
      subject: 'PO-501',
      time: '2025-03-15T08:00:00+01:00',
      docType: 'PurchaseOrder',
      docId: 'PO-501',
      version: 3,
    });
    const error = financeErrorOf(() => profile.purchaseOrderEnvelopeOf({ ...purchaseOrder(), version: undefined }));
    expect(error.details?.path).toBe('/version');
  });

  it('is a new event when only the status changes within one Coupa version, the same event when only the export stamps do', () => {
    const issued = profile.purchaseOrderEnvelopeOf(purchaseOrder());
    // Whether Coupa raises `version` on a cancel or close is not documented: one that does not is news all the same.
    const cancelledDocument = { ...purchaseOrder(), status: 'cancelled' };
    const cancelled = profile.purchaseOrderEnvelopeOf(cancelledDocument);
    expect(cancelled.id).not.toBe(issued.id);
    expect(cancelled).toMatchObject({ type: 'coupa.purchase_order.cancelled', version: 3, docId: 'PO-501' });
    expect(cancelled.id).toMatch(/^purchase-order-501-3-[0-9a-f]{16}$/);
    expect(profile.toPurchaseOrder(cancelledDocument)).toMatchObject({
      status: 'cancelled',
      sourceRef: { version: 3 },
    });
    expect(profile.purchaseOrderEnvelopeOf({ ...purchaseOrder(), status: 'closed' }).id).not.toBe(issued.id);
    // One that does raise it is a new event too.
    expect(profile.purchaseOrderEnvelopeOf({ ...cancelledDocument, version: 4 }).id).not.toBe(cancelled.id);

    // The same revision read again after its export mark, or with its keys in another order: a duplicate.
    const marked = {
      ...purchaseOrder(),
      exported: true,
      'last-exported-at': '2025-03-15T08:00:09+01:00',
      'updated-at': '2025-03-15T08:00:09+01:00',
      'updated-by': { id: 1, login: 'integration' },
    };
    expect(profile.purchaseOrderEnvelopeOf(marked).id).toBe(issued.id);
    expect(profile.purchaseOrderEnvelopeOf(Object.fromEntries(Object.entries(purchaseOrder()).reverse())).id).toBe(
      issued.id,
    );
  });

  it.each(Object.entries(COUPA_PURCHASE_ORDER_STATUS))('maps status %s to %s', (status, expected) => {
    expect(toPo((doc) => (doc.status = status)).status).toBe(expected);
  });

  it('refuses an unknown PO status and a requisition passed as a PO', () => {
    expect(financeErrorOf(() => toPo((doc) => (doc.status = 'lost'))).details?.path).toBe('/status');
    const error = financeErrorOf(() => profile.toPurchaseOrder(requisition()));
    expect(error.details?.path).toBe('/requisition-lines');
    expect(error.message).toContain('Coupa purchase order');
  });
});
