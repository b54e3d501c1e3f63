/** Where the test suite finds the machine's real services. Overridable for other machines. */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? "postgres://postgres:postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const TEMPLATE_DB = "horizon_test_template";

export function pgUrlFor(database: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}
