import { integerSetting } from '../../../lib/config/settings';
import { masterDataSettings } from '../../../lib/masterdata/settings';

describe('integerSetting', () => {
  const range = { min: 0, max: 10_080, fallback: 15 };

  it('takes a whole number as typed, with spaces around it or a decimal point and zeros', () => {
    expect(integerSetting(' 30 ', 'Sync every (minutes)', range)).toBe(30);
    expect(integerSetting('30.0', 'Sync every (minutes)', range)).toBe(30);
    expect(integerSetting(30, 'Sync every (minutes)', range)).toBe(30);
  });

  it('takes an empty field, spaces only included, as the default', () => {
    for (const blank of [undefined, null, '', '   ', '\t']) {
      expect(integerSetting(blank, 'Sync every (minutes)', range)).toBe(15);
    }
  });

  it('refuses a fraction or text, naming the field and the range', () => {
    for (const wrong of ['1.5', 'abc', '-1', '10081']) {
      expect(() => integerSetting(wrong, 'Sync every (minutes)', range)).toThrow(
        expect.objectContaining({
          code: 'CONFIG_INVALID',
          message: expect.stringContaining('Sync every (minutes) must be a whole number from 0 to 10080'),
        }),
      );
    }
  });

  // The dialog accepts an empty Sync every as "the default"; a field of spaces used to be read as 0 (no schedule).
  it('a master data node whose Sync every holds only spaces syncs every 15 minutes, as when it is empty', () => {
    const settings = masterDataSettings({ intervalMinutes: '  ' });
    expect(settings.intervalMs).toBe(15 * 60_000);
    expect(settings.intervalMs).toBe(masterDataSettings({ intervalMinutes: '' }).intervalMs);
  });
});
