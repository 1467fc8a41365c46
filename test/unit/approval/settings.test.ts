import { approvalSettings } from '../../../lib/approval/settings';
import { FinanceError } from '../../../lib/errors';
import { matrixConfig } from './fixtures';

function configError(run: () => unknown): FinanceError {
  try {
    run();
  } catch (error) {
    if (error instanceof FinanceError) return error;
    throw error;
  }
  throw new Error('expected a FinanceError');
}

describe('approvalSettings', () => {
  it('compiles the matrix and applies the defaults', () => {
    const settings = approvalSettings({ matrix: matrixConfig() });
    expect(settings.matrix.financeController).toBe('E900');
    expect(settings.delegations).toEqual([]);
    expect(settings.directoryRefreshMs).toBe(15 * 60_000);
    expect(settings.slaCheckMs).toBe(60_000);
    // Flows saved before the setting existed keep ending rejected events at the approval.
    expect(settings.writebackFollows).toBe(false);
  });

  it('reads the write-back checkbox, also as text in a flow edited by hand', () => {
    expect(approvalSettings({ matrix: matrixConfig(), writebackFollows: true }).writebackFollows).toBe(true);
    expect(approvalSettings({ matrix: matrixConfig(), writebackFollows: 'true' }).writebackFollows).toBe(true);
    expect(approvalSettings({ matrix: matrixConfig(), writebackFollows: 'yes' }).writebackFollows).toBe(false);
  });

  it('reads the matrix and delegations as JSON text too, and the intervals as dialog strings', () => {
    const delegations = [{ from: 'E200', to: 'E250', validFrom: '2025-03-01', validTo: '2025-03-31' }];
    const settings = approvalSettings({
      matrix: JSON.stringify(matrixConfig()),
      delegations: JSON.stringify(delegations),
      directoryRefreshMinutes: '5',
      slaCheckSeconds: '10',
    });
    expect(settings.delegations).toEqual(delegations);
    expect(settings.directoryRefreshMs).toBe(300_000);
    expect(settings.slaCheckMs).toBe(10_000);
  });

  it('reports every violation of the matrix and the delegations at once', () => {
    const error = configError(() =>
      approvalSettings({
        matrix: { ...matrixConfig(), financeController: '', slaHours: -1 },
        delegations: [{ from: 'E1', to: 'E1', validFrom: '2025-02-30', validTo: '2025-03-01' }],
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    const paths = (error.details?.violations as Array<{ path: string }>).map((v) => v.path);
    expect(paths).toEqual([
      'matrix.financeController',
      'matrix.slaHours',
      'delegations[0].to',
      'delegations[0].validFrom',
    ]);
    expect(error.message).toContain('delegations[0].to: A person cannot delegate to themself.');
    expect(error.message).toMatch(/Fix them in the node's dialog\.$/);
  });

  it('says so when the matrix is missing or not JSON', () => {
    expect(configError(() => approvalSettings({})).message).toContain(
      'matrix: The approval matrix must be an object with "rules" and "financeController".',
    );
    expect(configError(() => approvalSettings({ matrix: '{rules:' })).message).toContain(
      'matrix: The matrix text is not valid JSON.',
    );
    expect(configError(() => approvalSettings({ matrix: matrixConfig(), delegations: {} })).message).toContain(
      'delegations: Delegations must be a list',
    );
  });

  it('refuses intervals out of range', () => {
    expect(configError(() => approvalSettings({ matrix: matrixConfig(), slaCheckSeconds: 0 })).message).toContain(
      'Check SLAs every (seconds) must be a whole number from 1 to 3600',
    );
    expect(configError(() => approvalSettings({ matrix: matrixConfig(), directoryRefreshMinutes: '2.5' })).code).toBe(
      'CONFIG_INVALID',
    );
  });

  describe('Use a directory copy for at most (hours)', () => {
    const maxAgeMs = (directoryMaxAgeHours: unknown) =>
      approvalSettings({ matrix: matrixConfig(), directoryMaxAgeHours: directoryMaxAgeHours as string })
        .directoryMaxAgeMs;

    it('is 72 hours by default, also in flows saved before the setting existed', () => {
      expect(maxAgeMs(undefined)).toBe(72 * 3_600_000);
      expect(maxAgeMs('')).toBe(72 * 3_600_000);
    });

    it('reads whole hours, as a number or the dialog text, and 0 for no limit', () => {
      expect(maxAgeMs('24')).toBe(24 * 3_600_000);
      expect(maxAgeMs(' 168 ')).toBe(168 * 3_600_000);
      expect(maxAgeMs(0)).toBe(0);
      expect(maxAgeMs('8760')).toBe(8760 * 3_600_000);
    });

    it.each(['-1', '1.5', 'abc', '8761'])('refuses %s, naming the field', (value) => {
      const error = configError(() => maxAgeMs(value));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toContain('Use a directory copy for at most (hours) must be a whole number from 0 to 8760');
      expect(error.details).toEqual({ field: 'Use a directory copy for at most (hours)' });
    });
  });
});
