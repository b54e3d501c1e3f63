/**
 * A self-signed TLS certificate for local HTTPS/HTTP2 stand-ins of cloud peers (push services,
 * FCM, APNs), made at test time with the `openssl` CLI: a P-256 key and a certificate whose
 * subjectAltName lists the names and addresses the clients will verify (the cert is its own CA, so
 * a client passes it as `ca`).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCert {
  key: string;
  cert: string;
}

const cache = new Map<string, TestCert>();

export function selfSignedCert(
  names: string[] = ["localhost"],
  ips: string[] = ["127.0.0.1", "::1"],
): TestCert {
  const id = [...names, ...ips].join(",");
  const hit = cache.get(id);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), "horizon-cert-"));
  try {
    const san = [...names.map((n) => `DNS:${n}`), ...ips.map((a) => `IP:${a}`)].join(",");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        `/CN=${names[0] ?? "localhost"}`,
        "-addext",
        `subjectAltName=${san}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
      ],
      { stdio: "ignore" },
    );
    const made = {
      key: readFileSync(join(dir, "key.pem"), "utf8"),
      cert: readFileSync(join(dir, "cert.pem"), "utf8"),
    };
    cache.set(id, made);
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
