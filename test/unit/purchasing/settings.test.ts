import { purchaseOrderSettings } from '../../../lib/purchasing/settings';

describe('purchaseOrderSettings: Master data: use a copy for at most (hours)', () => {
  const maxAgeMs = (masterDataMaxAgeHours: unknown) =>
    purchaseOrderSettings({ masterDataMaxAgeHours }).masterDataMaxAgeMs;

  it('is 72 hours by default, also in flows saved before the setting existed', () => {
    expect(maxAgeMs(undefined)).toBe(72 * 3_600_000);
    expect(maxAgeMs('')).toBe(72 * 3_600_000);
  });

  it('reads whole hours, and 0 for no limit', () => {
    expect(maxAgeMs('24')).toBe(24 * 3_600_000);
    expect(maxAgeMs(0)).toBe(0);
  });

  it.each(['-1', '1.5', 'abc', '8761'])('refuses %s, naming the field', (value) => {
    expect(() => maxAgeMs(value)).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining(
          'Master data: use a copy for at most (hours) must be a whole number from 0 to 8760',
        ),
      }),
    );
  });
});
