/**
 * References to the shared definitions, so each document schema says `amount: refs.money` instead of
 * repeating the URI. They resolve against the document's own $id (all schemas live under one base URI).
 */
export const refs = {
  money: { $ref: 'money.json#/$defs/Money' },
  currencyCode: { $ref: 'money.json#/$defs/CurrencyCode' },
  identifier: { $ref: 'common.json#/$defs/Identifier' },
  date: { $ref: 'common.json#/$defs/Date' },
  dateTime: { $ref: 'common.json#/$defs/DateTime' },
  period: { $ref: 'common.json#/$defs/Period' },
  countryCode: { $ref: 'common.json#/$defs/CountryCode' },
  approvalState: { $ref: 'common.json#/$defs/ApprovalState' },
  sourceRef: { $ref: 'common.json#/$defs/SourceRef' },
  erpRef: { $ref: 'common.json#/$defs/ErpRef' },
  dimensions: { $ref: 'common.json#/$defs/Dimensions' },
  policyException: { $ref: 'common.json#/$defs/PolicyException' },
  orderLine: { $ref: 'common.json#/$defs/OrderLine' },
  erpMessage: { $ref: 'common.json#/$defs/ErpMessage' },
} as const;
