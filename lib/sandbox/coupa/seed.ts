/**
 * The Coupa simulator's demo documents, coded against the sandbox ERP's FS-DEMO master data (lib/sandbox/seed.ts):
 * requester E1017 (Engineering), suppliers SUP-1001 / SUP-1002, cost centers CC-400 / CC-500, GL 6300.
 * The account uses segment-1 = company, segment-2 = cost center, segment-3 = GL account, so the `coupa`
 * profile maps it with { costCenterSegment: "segment-2", glAccountSegment: "segment-3" }. Amounts are JSON
 * strings, as Coupa sends its decimals [3P hotglue tap-coupa; D Requisitions API Example Calls].
 */
import type { CoupaCollection, CoupaRecord } from './store';

function account(costCenter: string, glAccount: string) {
  return {
    id: costCenter === 'CC-400' ? 31 : 32,
    name: `Engineering ${costCenter} ${glAccount}`,
    code: `FSDEMO-${costCenter}-${glAccount}`,
    active: true,
    'segment-1': 'FSDEMO',
    'segment-2': costCenter,
    'segment-3': glAccount,
    'account-type': { id: 1, name: 'FS-DEMO Chart of Accounts' },
  };
}

const EUR = { id: 2, code: 'EUR', decimals: 2 };
const REQUESTER = {
  id: 117,
  login: 'ytanaka',
  email: 'yuki.tanaka@fs-demo.example',
  'employee-number': 'E1017',
  firstname: 'Yuki',
  lastname: 'Tanaka',
};
const SUPPLIER_1001 = { id: 7001, name: 'Office Depot Europe', number: 'SUP-1001' };
const SUPPLIER_1002 = { id: 7002, name: 'Contoso Hardware GmbH', number: 'SUP-1002' };

/**
 * When every seeded document was created and last updated. Fixed rather than the sandbox clock: the store is
 * created on the first Coupa request, and the seed must not depend on when that comes.
 */
export const COUPA_SEED_TIME = '2025-03-14T09:00:00+00:00';

export function coupaSeed(): Record<CoupaCollection, CoupaRecord[]> {
  const stamp = COUPA_SEED_TIME;
  const common = { 'created-at': stamp, 'updated-at': stamp, exported: false, 'last-exported-at': null };
  // A copy, so no two documents (or two resets) share a nested object the store could change.
  return structuredClone({
    requisitions: [
      {
        id: 1001,
        ...common,
        status: 'approved',
        'submitted-at': stamp,
        justification: 'Laptops and docks for two new engineers',
        'requested-by': REQUESTER,
        currency: EUR,
        total: '3218.00',
        'custom-fields': {},
        'requisition-lines': [
          {
            id: 5001,
            'line-num': 1,
            'line-type': 'RequisitionQuantityLine',
            description: 'Laptop 14" developer edition',
            quantity: '2.0',
            'unit-price': '1499.00',
            total: '2998.00',
            currency: EUR,
            uom: { id: 1, code: 'EA', name: 'Each' },
            'need-by-date': '2025-04-15T00:00:00+00:00',
            'source-part-num': 'HW-LT14',
            supplier: SUPPLIER_1002,
            account: account('CC-400', '6300'),
            'account-allocations': [],
          },
          {
            id: 5002,
            'line-num': 2,
            'line-type': 'RequisitionQuantityLine',
            description: 'USB-C docking station',
            quantity: '2.0',
            'unit-price': '110.00',
            total: '220.00',
            currency: EUR,
            uom: { id: 1, code: 'EA', name: 'Each' },
            supplier: SUPPLIER_1002,
            account: account('CC-400', '6300'),
            'account-allocations': [
              { id: 1, pct: '50.0000000000', amount: '110.0000', account: account('CC-400', '6300') },
              { id: 2, pct: '50.0000000000', amount: '110.0000', account: account('CC-500', '6300') },
            ],
          },
        ],
      },
      {
        id: 1002,
        ...common,
        status: 'pending_approval',
        'submitted-at': stamp,
        justification: 'Printer paper',
        'requested-by': REQUESTER,
        currency: EUR,
        total: '45.90',
        'custom-fields': {},
        'requisition-lines': [
          {
            id: 5003,
            'line-num': 1,
            description: 'A4 paper, 5 reams',
            quantity: '1.0',
            'unit-price': '45.90',
            total: '45.90',
            currency: EUR,
            supplier: SUPPLIER_1001,
            account: account('CC-500', '6300'),
            'account-allocations': [],
          },
        ],
      },
    ],
    purchase_orders: [
      {
        id: 501,
        ...common,
        'po-number': '501',
        status: 'issued',
        version: 1,
        currency: EUR,
        supplier: SUPPLIER_1001,
        total: '91.80',
        'custom-fields': {},
        'order-lines': [
          {
            id: 9001,
            'line-num': 1,
            description: 'A4 paper, 5 reams',
            quantity: '2.0',
            price: '45.90',
            total: '91.80',
            currency: EUR,
            account: account('CC-500', '6300'),
            'account-allocations': [],
          },
        ],
      },
    ],
  });
}
