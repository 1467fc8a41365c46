/** Calls to the sandbox ERP's own API that tests use to change what the ERP holds. */

/**
 * Changes a master record of the sandbox's demo company (`PATCH /api/v1/companies/FS-DEMO/{kind}/{id}`, as an
 * administrator would in the ERP) and answers the record as changed; the change must be accepted (200).
 */
export async function patchMasterRecord(
  sandboxUrl: string,
  kind: string,
  id: string,
  changes: object,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${sandboxUrl}/api/v1/companies/FS-DEMO/${kind}/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(changes),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}
