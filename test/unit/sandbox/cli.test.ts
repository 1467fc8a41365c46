import { EventEmitter } from 'node:events';
import { DEFAULT_PORT, main, parseCliArgs, type CliRun } from '../../../lib/sandbox/cli';
import { freePort } from '../../support/processes';

describe('finance-sandbox command line', () => {
  it('defaults to port 8089 without auth', () => {
    expect(parseCliArgs([], {})).toEqual({ port: DEFAULT_PORT, auth: { type: 'none' } });
    expect(DEFAULT_PORT).toBe(8089);
  });

  it('takes the port from --port, --port=, or SANDBOX_PORT, the flag first', () => {
    expect(parseCliArgs(['--port', '9100'], { SANDBOX_PORT: '9200' }).port).toBe(9100);
    expect(parseCliArgs(['--port=9101'], {}).port).toBe(9101);
    expect(parseCliArgs([], { SANDBOX_PORT: '9200' }).port).toBe(9200);
  });

  it('reads OAuth2 client credentials from flags or the environment', () => {
    expect(parseCliArgs(['--auth', 'oauth2', '--client-id', 'id', '--client-secret', 'secret'], {}).auth).toEqual({
      type: 'oauth2',
      clientId: 'id',
      clientSecret: 'secret',
    });
    expect(
      parseCliArgs(['--auth', 'oauth2', '--token-ttl', '120'], { SANDBOX_CLIENT_ID: 'a', SANDBOX_CLIENT_SECRET: 'b' })
        .auth,
    ).toEqual({ type: 'oauth2', clientId: 'a', clientSecret: 'b', tokenTtlSeconds: 120 });
  });

  it.each([
    [['--port', '70000'], /port number/],
    [['--port'], /needs a value/],
    [['--verbose'], /Unknown argument/],
    [['serve'], /Unknown argument/],
    [['--auth', 'kerberos'], /none or oauth2/],
    [['--auth', 'oauth2', '--client-id', 'id'], /client-secret/],
    [['--auth', 'oauth2', '--client-id', 'id', '--client-secret', 's', '--token-ttl', '0'], /token-ttl/],
  ])('refuses %j with a usage message', (argv, message) => {
    expect(() => parseCliArgs(argv, {})).toThrow(message);
    expect(() => parseCliArgs(argv, {})).toThrow(/usage: finance-sandbox/);
  });

  it('refuses a bad SANDBOX_PORT', () => {
    expect(() => parseCliArgs([], { SANDBOX_PORT: 'eighty' })).toThrow(/SANDBOX_PORT/);
  });

  describe('main', () => {
    let run: CliRun | undefined;

    afterEach(async () => {
      await run?.handle.close();
      run = undefined;
    });

    it('starts on the given port, prints the URL and stops on SIGTERM', async () => {
      const port = await freePort();
      const lines: string[] = [];
      const signals = new EventEmitter();
      run = await main(['--port', String(port)], {}, { log: (line) => lines.push(line), error: () => {}, signals });
      expect(run.handle.url).toBe(`http://127.0.0.1:${port}`);
      expect(lines).toEqual([`sandbox ERP listening on http://127.0.0.1:${port}`]);
      expect((await fetch(`${run.handle.url}/_sandbox/state`)).status).toBe(200);

      signals.emit('SIGTERM');
      await run.stopped;
      expect(lines[1]).toBe('sandbox ERP stopping (SIGTERM)');
      await expect(fetch(`${run.handle.url}/_sandbox/state`)).rejects.toThrow();
    });

    it('stops on SIGINT too, and runs in OAuth2 mode from the environment', async () => {
      const port = await freePort();
      const signals = new EventEmitter();
      const lines: string[] = [];
      run = await main(
        ['--auth', 'oauth2'],
        { SANDBOX_PORT: String(port), SANDBOX_CLIENT_ID: 'id', SANDBOX_CLIENT_SECRET: 'secret' },
        { log: (line) => lines.push(line), error: () => {}, signals },
      );
      expect(lines[0]).toContain('OAuth2');
      expect(lines.join('\n')).not.toContain('secret');
      expect((await fetch(`${run.handle.url}/api/v1/companies`)).status).toBe(401);
      signals.emit('SIGINT');
      await run.stopped;
      await expect(fetch(`${run.handle.url}/_sandbox/state`)).rejects.toThrow();
    });
  });
});
