/**
 * Money as JSON Schema: the shared definition every canonical document points at with
 * `{ "$ref": "money.json#/$defs/Money" }`. The schema checks the shape only; whether the currency exists and
 * the amount has the right number of decimals for it is checked after the schema (../semantic-checks.ts),
 * because JSON Schema cannot look a currency's exponent up.
 */

/**
 * A decimal string: optional '-', up to 18 digits, up to 6 decimals. Never a JSON number (floats lose cents).
 * The exact number of decimals and the canonical form ("12.50", not "12.5" or "012.50") depend on the currency
 * and are checked after the schema (../semantic-checks.ts).
 */
export const AMOUNT_PATTERN = '^-?\\d{1,18}(\\.\\d{1,6})?$';

/** An upper-case ISO 4217 alphabetic code. */
export const CURRENCY_PATTERN = '^[A-Z]{3}$';

export const moneySchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://finance-sync.dev/schemas/money.json',
  title: 'Money',
  description:
    'An amount of money: a decimal string with the currency\'s ISO 4217 number of decimals ("100.00" EUR, ' +
    '"100" JPY, "100.000" KWD) and the currency code. Amounts are strings because JSON numbers are floats.',
  $ref: '#/$defs/Money',
  $defs: {
    Amount: {
      type: 'string',
      pattern: AMOUNT_PATTERN,
      description:
        'Decimal string such as "12.50": exactly the currency\'s number of decimals, no leading zeros, no "-0".',
    },
    CurrencyCode: {
      type: 'string',
      pattern: CURRENCY_PATTERN,
      description: 'ISO 4217 alphabetic currency code, upper case, e.g. EUR.',
    },
    Money: {
      type: 'object',
      additionalProperties: false,
      required: ['amount', 'currency'],
      properties: {
        amount: { $ref: '#/$defs/Amount' },
        currency: { $ref: '#/$defs/CurrencyCode' },
      },
    },
  },
  examples: [{ amount: '1250.00', currency: 'EUR' }],
} as const;
