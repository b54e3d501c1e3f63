import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config";

function issuesOf(env: Record<string, string>) {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => i.variable);
    throw err;
  }
  return [];
}

describe("configuration", () => {
  it("applies the documented defaults", () => {
    const c = parseConfig({});
    expect(c).toMatchObject({ PORT: 8787, DATA_DIR: ".data", LOG_LEVEL: "info", KV_PREFIX: "horizon:" });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL).toBeUndefined();
  });

  it("names each bad variable", () => {
    expect(issuesOf({ PORT: "eighty" })).toEqual(["PORT"]);
    expect(issuesOf({ LOG_LEVEL: "loud" })).toEqual(["LOG_LEVEL"]);
    expect(issuesOf({ DATABASE_URL: "mysql://x" })).toEqual(["DATABASE_URL"]);
    expect(issuesOf({ REDIS_URL: "http://x" })).toEqual(["REDIS_URL"]);
    expect(issuesOf({ JWT_SECRET: "short" })).toEqual(["JWT_SECRET"]);
    expect(issuesOf({ UPSTASH_REDIS_REST_URL: "https://u.example" })).toEqual(["UPSTASH_REDIS_REST_TOKEN"]);
    expect(issuesOf({ API_DEPRECATIONS: "v1:someday:later" })).toEqual(["API_DEPRECATIONS"]);
    expect(issuesOf({ PORT: "-1", LOG_LEVEL: "x" }).sort()).toEqual(["LOG_LEVEL", "PORT"]);
    expect(issuesOf({ KV_PREFIX: "has space:" })).toEqual(["KV_PREFIX"]);
    expect(issuesOf({ KV_PREFIX: "x".repeat(65) })).toEqual(["KV_PREFIX"]);
  });

  it("treats empty strings as unset and ignores unrelated variables", () => {
    const c = parseConfig({ DATABASE_URL: "", REDIS_URL: "", HOME: "/root", PATH: "/bin" });
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.REDIS_URL).toBeUndefined();
  });

  it("parses deprecations", () => {
    const c = parseConfig({ API_DEPRECATIONS: "v1:2026-01-01:2027-01-01" });
    expect(c.API_DEPRECATIONS).toEqual([
      { version: "v1", deprecatedAt: new Date("2026-01-01"), sunsetAt: new Date("2027-01-01") },
    ]);
  });
});
