import { recordOfMessage } from '../../../lib/audit/record';

describe('audit records of messages', () => {
  it('keep no credentials written in URLs or header syntax in msg.audit', () => {
    const record = recordOfMessage(
      {
        topic: 'manual-fix',
        audit: {
          note: 'replayed against https://ops:pw-4711@erp.example.com/api?api_key=k-0815',
          header: 'Authorization: token key1:sec2',
        },
      },
      { type: 'finance-audit', id: 'a1' },
    );
    const written = JSON.stringify(record);
    for (const secret of ['pw-4711', 'k-0815', 'key1:sec2']) expect(written).not.toContain(secret);
  });
});
