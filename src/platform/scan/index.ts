/**
 * The malware-scanning port: the job service hands it a file's bytes and gets a verdict. The one
 * adapter is clamd's INSTREAM (clamd.ts, node:net: Bun/Node hosts only). Unset in the services
 * bundle = scanning is not configured and files are promoted after sniffing alone.
 */

export type ScanVerdict = { clean: true } | { clean: false; signature: string };

/** Why a scan could not give a verdict: the caller retries (timeout, connection) or gives up (size). */
export type ScanFailure = "size_limit" | "timeout" | "connection" | "protocol";

export class ScanError extends Error {
  override name = "ScanError";
  constructor(
    readonly kind: ScanFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface MalwareScanner {
  /** Scans the bytes; throws ScanError when no verdict could be had. */
  scan(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<ScanVerdict>;
  /** Answers when the scanner is reachable (readiness). */
  ping(): Promise<void>;
}
