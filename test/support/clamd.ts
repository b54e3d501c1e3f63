/**
 * A real clamd for tests: Debian's `clamav-daemon` started in the foreground with its own config
 * in a temp folder (TCP on a free 127.0.0.1 port) and a signature database holding only test
 * signatures — there is no download here, and ClamAV has no built-in ones:
 * - `Custom.Eicar.MD5`: the hash of the standard 68-byte EICAR file (.hdb);
 * - `Horizon.Test.EicarBody`: the EICAR string anywhere in any file (.ndb body signature), so a
 *   valid JPEG or PDF that carries it is found too (our sniffing refuses the bare EICAR file
 *   before clamd would see it).
 * Missing clamd is an error, never a skip: `.ci/run` installs it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClamdScanner } from "../../src/platform/scan/clamd";
import { freePort } from "./net";
import { waitFor } from "./wait";

export const CLAMD_BINARY = process.env.CLAMD_BINARY ?? "/usr/sbin/clamd";

/** The standard EICAR anti-virus test file (68 bytes). Built from parts so this source is not itself a hit. */
export const EICAR = Buffer.from(
  `X5O!P%@AP[4\\PZX54(P^)7CC)7}$${"EICAR"}-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`,
  "latin1",
);
export const EICAR_MD5 = "44d88612fea8a8f36de82e1278abb02f";

export interface ClamdHandle {
  host: string;
  port: number;
  dir: string;
  /** StreamMaxLength the daemon was started with, in bytes. */
  streamMaxBytes: number;
  stop(): Promise<void>;
}

export async function startClamd(options: { streamMaxBytes?: number } = {}): Promise<ClamdHandle> {
  if (!existsSync(CLAMD_BINARY)) {
    throw new Error(
      `clamd is required by this test and is missing at ${CLAMD_BINARY}: apt-get install -y clamav-daemon (.ci/run does)`,
    );
  }
  const streamMaxBytes = options.streamMaxBytes ?? 25 * 1024 * 1024;
  const dir = await mkdtemp(join(tmpdir(), "horizon-clamd-"));
  const db = join(dir, "db");
  await mkdir(db);
  await writeFile(join(db, "test.hdb"), `${EICAR_MD5}:68:Custom.Eicar.MD5\n`);
  await writeFile(join(db, "test.ndb"), `Horizon.Test.EicarBody:0:*:${EICAR.toString("hex")}\n`);
  const port = await freePort();
  const conf = join(dir, "clamd.conf");
  await writeFile(
    conf,
    [
      "Foreground yes",
      `DatabaseDirectory ${db}`,
      `TCPSocket ${port}`,
      "TCPAddr 127.0.0.1",
      `PidFile ${join(dir, "clamd.pid")}`,
      `TemporaryDirectory ${dir}`,
      `LogFile ${join(dir, "clamd.log")}`,
      `StreamMaxLength ${streamMaxBytes}`,
      "MaxThreads 4",
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(CLAMD_BINARY, ["--config-file", conf], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let exited: number | null = null;
  child.on("exit", (code) => {
    exited = code ?? -1;
  });
  const scanner = createClamdScanner({ host: "127.0.0.1", port, timeoutMs: 2_000 });
  try {
    await waitFor(
      "clamd to answer PING",
      async () => {
        if (exited !== null) throw new Error(`clamd exited with ${exited}: ${stderr.slice(0, 2000)}`);
        return scanner.ping().then(
          () => true,
          () => false,
        );
      },
      60_000,
      100,
    );
  } catch (err) {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host: "127.0.0.1",
    port,
    dir,
    streamMaxBytes,
    async stop() {
      if (exited === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
        if (exited === null) child.kill("SIGKILL");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
