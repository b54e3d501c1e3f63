/**
 * The read and write smoke test of a release, over HTTP only (the most stable interface a release
 * has), against a standalone host started with the demo seed. The migration compatibility test
 * runs the PREVIOUS release's copy of this file (git show <release>:test/migrations/smoke.ts)
 * against the previous release's host on a database migrated by the current release.
 * Self-contained on purpose: no imports, so any release's copy runs from a temporary file.
 */
export const SMOKE_DEMO_MANAGER = "manager@demo.horizon.example";
export const SMOKE_DEMO_PASSWORD = "Horizon-Demo-2026!";

export async function smoke(base: string): Promise<string[]> {
  const done: string[] = [];
  async function call(method: string, path: string, body?: unknown, token?: string, expected = [200]) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!expected.includes(res.status))
      throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    done.push(`${method} ${path} ${res.status}`);
    return text ? JSON.parse(text) : null;
  }
  await call("GET", "/health/ready");
  const { accessToken: token } = await call("POST", "/api/v1/auth/login", {
    email: SMOKE_DEMO_MANAGER,
    password: SMOKE_DEMO_PASSWORD,
  });
  await call("GET", "/api/v1/me", undefined, token);
  const buildings = await call("GET", "/api/v1/buildings", undefined, token);
  const buildingId: string = (buildings.data ?? buildings)[0].id;
  // Writes: an apartment (building version bump, audit row, outbox event), a new account.
  const number = `S${Date.now().toString(36)}`;
  const apartment = await call(
    "POST",
    `/api/v1/buildings/${buildingId}/apartments`,
    { number },
    token,
    [201],
  );
  const read = await call(
    "GET",
    `/api/v1/buildings/${buildingId}/apartments/${apartment.id}`,
    undefined,
    token,
  );
  if (read.number !== number) throw new Error(`apartment read back ${read.number}, wrote ${number}`);
  const list = await call("GET", `/api/v1/buildings/${buildingId}/apartments?limit=100`, undefined, token);
  if (!(list.data ?? list).some((a: { id: string }) => a.id === apartment.id))
    throw new Error("the new apartment is not in the list");
  await call(
    "POST",
    "/api/v1/auth/register",
    { email: `smoke-${number}@example.com`, password: "Smoke-Password-2026!", name: "Smoke" },
    undefined,
    [201],
  );
  return done;
}
