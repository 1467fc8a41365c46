import { rememberTranslations } from '../../nodes/shared/node-input';

describe('rememberTranslations', () => {
  it('asks RED._ once per key and values, and answers the same text after', () => {
    const asked: string[] = [];
    const translate = rememberTranslations((key, values) => {
      asked.push(key);
      return `${key}:${values?.approver ?? ''}`;
    });
    expect(translate('a.status.waiting', { approver: 'E1' })).toBe('a.status.waiting:E1');
    expect(translate('a.status.waiting', { approver: 'E1' })).toBe('a.status.waiting:E1');
    expect(translate('a.status.waiting', { approver: 'E2' })).toBe('a.status.waiting:E2');
    expect(translate('a.status.done')).toBe('a.status.done:');
    expect(translate('a.status.done')).toBe('a.status.done:');
    expect(asked).toEqual(['a.status.waiting', 'a.status.waiting', 'a.status.done']);
  });

  it('forgets what it knows once it knows too much, so many approvers cannot grow it without bound', () => {
    let calls = 0;
    const translate = rememberTranslations((key) => {
      calls += 1;
      return key;
    });
    for (let i = 0; i < 1001; i += 1) translate(`k${i}`);
    expect(calls).toBe(1001);
    translate('k0');
    expect(calls).toBe(1002);
  });
});
