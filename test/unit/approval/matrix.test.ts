import { FinanceError } from '../../../lib/errors';
import { compileMatrix, selectRule, validateMatrix, type MatrixRule } from '../../../lib/approval/matrix';
import { toMinorUnits } from '../../../lib/model/money';
import { matrixConfig } from './fixtures';

function messages(config: unknown): string[] {
  return validateMatrix(config).map((violation) => `${violation.path}: ${violation.message}`);
}

function withRules(rules: unknown[]): unknown {
  return { ...matrixConfig(), rules };
}

const manager = [{ type: 'manager' }];

describe('validateMatrix', () => {
  it('accepts the example matrix', () => {
    expect(validateMatrix(matrixConfig())).toEqual([]);
  });

  it('explains a matrix that is not an object, has no rules or no finance controller', () => {
    expect(messages(null)).toEqual([': The approval matrix must be an object with "rules" and "financeController".']);
    expect(messages({ financeController: 'E900', rules: [] })).toEqual([
      'rules: Add at least one rule: an amount band in a currency and the approvers it needs.',
    ]);
    expect(messages({ ...matrixConfig(), financeController: ' ' })[0]).toMatch(
      /^financeController: Set the finance controller/,
    );
  });

  it('reports overlapping bands of the same scope with both rules and the band rule', () => {
    const result = messages(
      withRules([
        { id: 'a', currency: 'EUR', minAmount: '0', maxAmount: '1000.00', approvers: manager },
        { id: 'b', currency: 'EUR', minAmount: '999.99', approvers: manager },
      ]),
    );
    expect(result).toEqual([
      'rules[1]: Rule "b" (999.99 EUR and above) overlaps Rule "a" (0.00 up to but not including 1000.00 EUR) ' +
        'for company *, cost center *. Bands include their minimum and exclude their maximum: let one band end where the other starts.',
    ]);
  });

  it('accepts bands that touch, overlaps in other scopes and the same band in another currency', () => {
    expect(
      messages(
        withRules([
          { currency: 'EUR', maxAmount: '1000.00', approvers: manager },
          { currency: 'EUR', minAmount: '1000', approvers: manager },
          { currency: 'EUR', costCenter: 'CC-RND', approvers: manager },
          { currency: 'EUR', company: 'C01', approvers: manager },
          { currency: 'USD', approvers: manager },
        ]),
      ),
    ).toEqual([]);
  });

  it('treats an absent scope and "*" as the same scope when looking for overlaps', () => {
    const result = messages(
      withRules([
        { currency: 'EUR', approvers: manager },
        { currency: 'EUR', company: '*', costCenter: '*', approvers: manager },
      ]),
    );
    expect(result).toHaveLength(1);
    expect(result[0]).toContain('rules[1] (0.00 EUR and above) overlaps rules[0]');
  });

  it('names unknown approver types and the valid ones', () => {
    expect(messages(withRules([{ currency: 'EUR', approvers: [{ type: 'boss' }] }]))).toEqual([
      'rules[0].approvers[0].type: Unknown approver type "boss"; use one of manager, managerChain, role, person, costCenterOwner.',
    ]);
  });

  it('explains bad amounts: too many decimals, not a number, a JSON number, negative, JPY decimals', () => {
    const result = messages(
      withRules([
        { currency: 'EUR', minAmount: '12.345', maxAmount: 'abc', approvers: manager },
        { currency: 'EUR', costCenter: 'X', minAmount: 100, approvers: manager },
        { currency: 'EUR', costCenter: 'Y', minAmount: '-5.00', approvers: manager },
        { currency: 'JPY', maxAmount: '100.5', approvers: manager },
      ]),
    );
    expect(result).toEqual([
      'rules[0].minAmount: "12.345" has 3 decimals but EUR has 2; round it in the source system.',
      'rules[0].maxAmount: "abc" is not a decimal number such as "12.50".',
      'rules[1].minAmount: must be a decimal string such as "12.50", not a number (numbers lose cents in JSON; quote the amount).',
      'rules[2].minAmount: "-5.00" is negative; only positive amounts are accepted here.',
      'rules[3].maxAmount: "100.5" has 1 decimals but JPY has 0; round it in the source system.',
    ]);
  });

  it('reports a band that ends where or before it starts', () => {
    expect(
      messages(withRules([{ currency: 'EUR', minAmount: '500', maxAmount: '500.00', approvers: manager }])),
    ).toEqual([
      'rules[0].maxAmount: The band must end above where it starts: maxAmount 500.00 is not above minAmount 500.00.',
    ]);
  });

  it('reports unknown currencies, unknown roles, missing person ids, misplaced or bad levels and empty approvers', () => {
    const result = messages(
      withRules([
        { currency: 'EURO', approvers: manager },
        { currency: 'EUR', maxAmount: '10.00', approvers: [{ type: 'role', value: 'ceo' }] },
        { currency: 'EUR', minAmount: '10.00', maxAmount: '20.00', approvers: [{ type: 'person' }] },
        { currency: 'EUR', minAmount: '20.00', maxAmount: '30.00', approvers: [{ type: 'manager', levels: 2 }] },
        { currency: 'EUR', minAmount: '30.00', maxAmount: '40.00', approvers: [{ type: 'managerChain', levels: 0 }] },
        { currency: 'EUR', minAmount: '40.00', maxAmount: '50.00', approvers: [] },
      ]),
    );
    expect(result).toEqual([
      'rules[0].currency: "EURO" is not an ISO 4217 currency code. Use an upper-case code such as EUR, USD or JPY.',
      'rules[1].approvers[0].value: Role "ceo" is not listed under roles; add it with the id of the person who holds it.',
      'rules[2].approvers[0].value: Give the id of the person who approves.',
      'rules[3].approvers[0].levels: levels only applies to the managerChain approver type.',
      'rules[4].approvers[0].levels: levels must be a whole number of at least 1, not 0.',
      'rules[5].approvers: Add at least one approver, or set autoApprove for this band.',
    ]);
  });

  it('reports duplicate rule ids, bad SLA hours and bad auto-approval thresholds', () => {
    const result = messages({
      ...matrixConfig(),
      slaHours: 0,
      autoApproveBelow: { EUR: '50.001', XYZ: '10' },
      rules: [
        { id: 'r', currency: 'EUR', maxAmount: '10.00', approvers: manager },
        { id: 'r', currency: 'EUR', minAmount: '10.00', approvers: manager },
      ],
    });
    expect(result).toEqual([
      'slaHours: The SLA must be a positive number of hours, not 0.',
      'autoApproveBelow.EUR: "50.001" has 3 decimals but EUR has 2; round it in the source system.',
      'autoApproveBelow.XYZ: "XYZ" is not an ISO 4217 currency code. Use an upper-case code such as EUR, USD or JPY.',
      'rules[1].id: Rule id "r" is already used by rules[0]; give each rule its own id.',
    ]);
  });
});

describe('compileMatrix', () => {
  it('refuses an invalid matrix with CONFIG_INVALID listing every violation', () => {
    const config = withRules([{ currency: 'EURO', approvers: [{ type: 'boss' }] }]);
    let error: unknown;
    try {
      compileMatrix(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FinanceError);
    expect((error as FinanceError).code).toBe('CONFIG_INVALID');
    expect((error as FinanceError).message).toContain('rules[0].currency: "EURO" is not an ISO 4217 currency code');
    expect((error as FinanceError).message).toContain('Unknown approver type "boss"');
    expect((error as FinanceError).details?.violations).toHaveLength(2);
  });

  it('resolves the finance controller role, numbers unnamed rules and applies the default SLA', () => {
    const compiled = compileMatrix({
      ...matrixConfig(),
      slaHours: undefined,
      rules: [{ currency: 'EUR', approvers: manager }],
    });
    expect(compiled.financeController).toBe('E900');
    expect(compiled.rules[0].id).toBe('rule-1');
    expect(compiled.slaHours).toBe(48);
  });

  it('keeps a finance controller that is not a role as a person id', () => {
    expect(compileMatrix({ ...matrixConfig(), financeController: 'E950' }).financeController).toBe('E950');
  });

  it('resolves only roles the matrix lists, never names inherited from Object.prototype', () => {
    expect(compileMatrix({ ...matrixConfig(), financeController: 'constructor' }).financeController).toBe(
      'constructor',
    );
    expect(messages(withRules([{ currency: 'EUR', approvers: [{ type: 'role', value: 'toString' }] }]))).toEqual([
      'rules[0].approvers[0].value: Role "toString" is not listed under roles; add it with the id of the person who holds it.',
    ]);
  });
});

describe('selectRule', () => {
  const compiled = compileMatrix(matrixConfig());
  const pick = (amount: string, currency = 'EUR', costCenter?: string): string =>
    selectRule(compiled, { currency, amount: toMinorUnits(amount, currency), company: 'C01', costCenter }).id;

  it('includes the band minimum and excludes its maximum, comparing minor units exactly', () => {
    expect(pick('0.00')).toBe('small');
    expect(pick('99.99')).toBe('small');
    expect(pick('100.00')).toBe('medium');
    expect(pick('100')).toBe('medium');
    expect(pick('999.99')).toBe('medium');
    expect(pick('1000.00')).toBe('large');
  });

  it('uses whole yen for JPY bands', () => {
    expect(pick('9999', 'JPY')).toBe('jpy-small');
    expect(pick('10000', 'JPY')).toBe('jpy-large');
  });

  it('prefers the rule of the cost center over the wildcard rule', () => {
    expect(pick('500.00', 'EUR', 'CC-RND')).toBe('rnd');
    expect(pick('50.00', 'EUR', 'CC-RND')).toBe('small');
    expect(pick('500.00', 'EUR', 'CC-OPS')).toBe('medium');
  });

  it('prefers a cost center rule over a company rule', () => {
    const scoped = compileMatrix(
      withRules([
        { id: 'company', company: 'C01', currency: 'EUR', approvers: manager },
        { id: 'center', costCenter: 'CC-RND', currency: 'EUR', approvers: manager },
        { id: 'both', company: 'C01', costCenter: 'CC-RND', currency: 'EUR', approvers: manager },
      ]),
    );
    const query = { currency: 'EUR', amount: 100n, company: 'C01' };
    expect(selectRule(scoped, { ...query, costCenter: 'CC-RND' }).id).toBe('both');
    expect(selectRule(scoped, { ...query, company: 'C02', costCenter: 'CC-RND' }).id).toBe('center');
    expect(selectRule(scoped, { ...query, costCenter: 'CC-OPS' }).id).toBe('company');
  });

  it('says clearly when the matrix has no rule for the currency', () => {
    expect(() => pick('10.00', 'USD')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('The approval matrix has no rule for USD (it covers EUR, JPY).'),
      }),
    );
  });

  it('says clearly when no band covers the amount', () => {
    const gap: MatrixRule[] = [{ currency: 'EUR', maxAmount: '100.00', approvers: [{ type: 'manager' }] }];
    const compiledGap = compileMatrix(withRules(gap));
    expect(() =>
      selectRule(compiledGap, { currency: 'EUR', amount: 10000n, company: 'C01', costCenter: 'CC-OPS' }),
    ).toThrow('No approval rule covers 100.00 EUR for company C01, cost center CC-OPS.');
  });
});
