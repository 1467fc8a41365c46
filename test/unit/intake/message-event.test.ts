import { eventFromMessage } from '../../../lib/intake/message-event';

describe('eventFromMessage', () => {
  it('uses a Buffer as it is and a string as its UTF-8 bytes', () => {
    const bytes = Buffer.from('{"a": 1}');
    expect(eventFromMessage({ payload: bytes }, 'generic').rawBody).toBe(bytes);
    expect(eventFromMessage({ payload: '{"ä": 1}' }, 'generic').rawBody).toEqual(Buffer.from('{"ä": 1}', 'utf8'));
  });

  it('serialises an object again only when no signature is checked', () => {
    expect(eventFromMessage({ payload: { a: 1 } }, 'none').rawBody.toString()).toBe('{"a":1}');
    expect(() => eventFromMessage({ payload: { a: 1 } }, 'generic')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/Do not parse request body/) }),
    );
  });

  it('takes the headers from msg.headers, else from msg.req.headers', () => {
    expect(
      eventFromMessage({ payload: '', headers: { a: '1' }, req: { headers: { b: '2' } } }, 'none').headers,
    ).toEqual({ a: '1' });
    expect(eventFromMessage({ payload: '', req: { headers: { b: '2' } } }, 'none').headers).toEqual({ b: '2' });
    expect(eventFromMessage({}, 'none')).toEqual({ rawBody: Buffer.alloc(0), headers: {} });
  });
});
