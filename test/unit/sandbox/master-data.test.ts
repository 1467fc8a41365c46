import { DEMO, eur, purchaseOrderBody, startTestSandbox, type TestSandbox } from './helpers';

interface Page {
  items: Array<{ id: string; modifiedAt: string }>;
  nextCursor: string | null;
}

describe('sandbox master data', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  async function page(path: string): Promise<Page> {
    const reply = await sandbox.call('GET', path);
    expect(reply.status).toBe(200);
    return reply.body;
  }

  it('has a believable demo company', async () => {
    const companies = await sandbox.call('GET', '/api/v1/companies');
    expect(companies.body.items).toEqual([
      { id: 'FS-DEMO', name: expect.any(String), currency: 'EUR' },
      { id: 'FS-JP', name: expect.any(String), currency: 'JPY' },
    ]);
    const counts: Record<string, number> = {};
    for (const kind of ['employees', 'suppliers', 'costCenters', 'projects', 'glAccounts', 'taxCodes']) {
      counts[kind] = (await page(`${DEMO}/${kind}?limit=500`)).items.length;
    }
    expect(counts).toEqual({ employees: 25, suppliers: 10, costCenters: 6, projects: 4, glAccounts: 12, taxCodes: 10 });

    const employees = (await page(`${DEMO}/employees?limit=500`)).items as unknown as Array<{
      id: string;
      managerId?: string;
    }>;
    const ids = new Set(employees.map((employee) => employee.id));
    const withoutManager = employees.filter((employee) => employee.managerId === undefined);
    expect(withoutManager.map((employee) => employee.id)).toEqual(['E1001']);
    expect(employees.every((employee) => employee.managerId === undefined || ids.has(employee.managerId))).toBe(true);
    const blocked = await sandbox.call('GET', `${DEMO}/suppliers/SUP-1009`);
    expect(blocked.body).toMatchObject({ status: 'blocked', company: 'FS-DEMO' });
    const closed = await sandbox.call('GET', `${DEMO}/projects/PRJ-1907`);
    expect(closed.body.status).toBe('closed');
  });

  it('pages in (modifiedAt, id) order with a cursor until nextCursor is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const result: Page = await page(`${DEMO}/employees?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...result.items.map((item) => item.id));
      cursor = result.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
  });

  it('returns a record changed during a sync again on a later page', async () => {
    const first = await page(`${DEMO}/employees?limit=10`);
    const changedId = first.items[0].id;
    const patch = await sandbox.call('PATCH', `${DEMO}/employees/${changedId}`, { body: { name: 'Helena Vogt-Lang' } });
    expect(patch.status).toBe(200);

    const rest: string[] = [];
    let cursor = first.nextCursor;
    while (cursor) {
      const next: Page = await page(`${DEMO}/employees?limit=10&cursor=${cursor}`);
      rest.push(...next.items.map((item) => item.id));
      cursor = next.nextCursor;
    }
    expect(rest[rest.length - 1]).toBe(changedId);
    expect(rest).toHaveLength(16);
  });

  it('orders two changes in the same millisecond one after the other', async () => {
    const one = await sandbox.call('PATCH', `${DEMO}/costCenters/CC-600`, { body: { name: 'People and Culture' } });
    const two = await sandbox.call('PATCH', `${DEMO}/costCenters/CC-100`, { body: { name: 'Finance' } });
    expect(Date.parse(two.body.modifiedAt)).toBeGreaterThan(Date.parse(one.body.modifiedAt));
    const changed = await page(`${DEMO}/costCenters?modifiedSince=${one.body.modifiedAt}`);
    expect(changed.items.map((item) => item.id)).toEqual(['CC-600', 'CC-100']);
  });

  it('returns only records modified at or after modifiedSince', async () => {
    sandbox.clock.now = new Date('2025-03-15T11:00:00.000Z');
    await sandbox.call('PATCH', `${DEMO}/suppliers/SUP-1004`, { body: { name: 'Acme Software LLC' } });
    const delta = await page(`${DEMO}/suppliers?modifiedSince=2025-03-15T10:30:00Z`);
    expect(delta.items).toEqual([expect.objectContaining({ id: 'SUP-1004', name: 'Acme Software LLC' })]);
    expect(delta.items[0].modifiedAt).toBe('2025-03-15T11:00:00.000Z');
    expect(delta.nextCursor).toBeNull();
  });

  it('applies master-data changes to later documents', async () => {
    const blocked = await sandbox.call('PATCH', `${DEMO}/suppliers/SUP-1001`, { body: { status: 'blocked' } });
    expect(blocked.body.status).toBe('blocked');
    const refused = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody() });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('SUPPLIER_BLOCKED');
    expect(sandbox.handle.state.counters.writes).toBe(1);
  });

  it('validates master-data changes by kind', async () => {
    const wrong = await sandbox.call('PATCH', `${DEMO}/employees/E1009`, {
      body: { active: 'no', approvalLimit: { amount: '100.00', currency: 'USD' }, id: 'X' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors.map((error: { path: string }) => error.path).sort()).toEqual([
      '/active',
      '/approvalLimit/currency',
      '/id',
    ]);
    const right = await sandbox.call('PATCH', `${DEMO}/employees/E1009`, { body: { approvalLimit: eur('750') } });
    expect(right.body.approvalLimit).toEqual(eur('750.00'));
  });

  it('answers 404 for unknown records, kinds and companies and 400 for bad paging input', async () => {
    expect((await sandbox.call('GET', `${DEMO}/employees/E9999`)).status).toBe(404);
    expect((await sandbox.call('PATCH', `${DEMO}/employees/E9999`, { body: { name: 'x' } })).status).toBe(404);
    expect((await sandbox.call('GET', `${DEMO}/vendors`)).status).toBe(404);
    const company = await sandbox.call('GET', '/api/v1/companies/NOPE/employees');
    expect(company.status).toBe(404);
    expect(company.body.code).toBe('UNKNOWN_COMPANY');
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'cursor=garbage', 'modifiedSince=yesterday']) {
      const reply = await sandbox.call('GET', `${DEMO}/employees?${query}`);
      expect([query, reply.status]).toEqual([query, 400]);
    }
  });

  it('deletes a master record through the control route, and a reset brings it back', async () => {
    const removed = await sandbox.call('POST', '/_sandbox/companies/FS-DEMO/projects/PRJ-1907/remove');
    expect(removed).toMatchObject({ status: 200, body: { removed: { kind: 'projects', id: 'PRJ-1907' } } });
    expect((await sandbox.call('GET', `${DEMO}/projects/PRJ-1907`)).status).toBe(404);
    expect((await page(`${DEMO}/projects`)).items.map((item) => item.id)).not.toContain('PRJ-1907');
    expect((await sandbox.call('POST', '/_sandbox/companies/FS-DEMO/projects/PRJ-1907/remove')).status).toBe(404);
    expect((await sandbox.call('POST', '/_sandbox/companies/FS-DEMO/people/E1/remove')).status).toBe(404);
    await sandbox.call('POST', '/_sandbox/reset');
    expect((await sandbox.call('GET', `${DEMO}/projects/PRJ-1907`)).status).toBe(200);
  });
});
