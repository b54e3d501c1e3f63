/**
 * ClamAV's daemon over its socket protocol (clamd(8), "INSTREAM"): `zINSTREAM\0`, then the data
 * as chunks each prefixed by its length as a 4-byte unsigned big-endian integer, then a zero
 * length. clamd answers one NUL-terminated line: `stream: OK`, `stream: <signature> FOUND`, or
 * `INSTREAM size limit exceeded. ERROR` once the stream passes its StreamMaxLength (it may close
 * the socket while we are still writing, so the reply is read whatever the writes do).
 * TCP (host/port) or a Unix socket. node:net: never imported by the edge Worker.
 */
import { connect, type Socket } from "node:net";
import { type MalwareScanner, ScanError, type ScanVerdict } from "./index";

export interface ClamdOptions {
  host?: string;
  port?: number;
  /** A Unix socket path (LocalSocket); wins over host/port. */
  socketPath?: string;
  /** Whole-scan deadline, connect to verdict. Default 30 s. */
  timeoutMs?: number;
  /** Bytes per INSTREAM chunk. Default 64 KiB (clamd's StreamMaxLength bounds the total, not chunks). */
  chunkBytes?: number;
  /**
   * clamd's StreamMaxLength (default 25 MiB, as clamd's own default). A larger file is refused
   * here (ScanError size_limit) before a byte is sent: clamd answers an oversized stream and
   * closes while we are still writing, and that reply can be lost to the connection reset.
   */
  maxStreamBytes?: number;
}

const DEFAULT_CHUNK = 64 * 1024;
export const CLAMD_DEFAULT_STREAM_MAX = 25 * 1024 * 1024;

/** Parses one clamd reply line (without its NUL). Exported for tests. */
export function parseClamdReply(reply: string): ScanVerdict {
  const line = reply.replace(/\0+$/, "").trim();
  if (line.endsWith("size limit exceeded. ERROR")) {
    throw new ScanError("size_limit", "clamd refused the stream: larger than its StreamMaxLength");
  }
  if (line.endsWith(" FOUND")) {
    const body = line.slice(0, -" FOUND".length);
    const colon = body.indexOf(": ");
    return { clean: false, signature: colon === -1 ? body : body.slice(colon + 2) };
  }
  if (/^(stream|\S+): OK$/.test(line)) return { clean: true };
  throw new ScanError("protocol", `clamd answered ${JSON.stringify(line.slice(0, 200))}`);
}

export function createClamdScanner(options: ClamdOptions): MalwareScanner {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
  const maxStreamBytes = options.maxStreamBytes ?? CLAMD_DEFAULT_STREAM_MAX;
  if (!options.socketPath && !(options.host && options.port)) {
    throw new Error("clamd needs a socketPath or a host and port");
  }

  function open(): Socket {
    return options.socketPath
      ? connect({ path: options.socketPath })
      : connect({ host: options.host!, port: options.port! });
  }

  /** Sends `command`, streams `body` (INSTREAM framing when given) and resolves with the reply line. */
  function exchange(command: string, body?: Uint8Array | AsyncIterable<Uint8Array>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const socket = open();
      const received: Buffer[] = [];
      let settled = false;
      const finish = (err: Error | null, value?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve(value!);
      };
      const timer = setTimeout(
        () => finish(new ScanError("timeout", `clamd gave no verdict within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const replyText = () => Buffer.concat(received).toString("utf8");
      socket.on("data", (d: Buffer) => {
        received.push(d);
        // z-commands end their reply with NUL: done as soon as it arrives.
        if (d.includes(0)) finish(null, replyText().split("\0", 1)[0]!);
      });
      socket.on("end", () => {
        const text = replyText();
        if (text.length > 0) finish(null, text.split("\0", 1)[0]!);
        else finish(new ScanError("connection", "clamd closed the connection without a reply"));
      });
      socket.on("error", (err: NodeJS.ErrnoException) => {
        // clamd closes early on a size-limit refusal: a reply already read wins over EPIPE/ECONNRESET.
        const text = replyText();
        if (text.length > 0) finish(null, text.split("\0", 1)[0]!);
        else finish(new ScanError("connection", `clamd: ${err.code ?? err.message}`));
      });
      socket.on("connect", () => {
        socket.write(`z${command}\0`);
        if (!body) return;
        void streamBody(socket, body, chunkBytes, maxStreamBytes, () => received.length > 0).catch((err) => {
          if (err instanceof ScanError) finish(err);
          // A write failure is answered by the socket's error/end handlers (with clamd's reply if any).
        });
      });
    });
  }

  return {
    async scan(data) {
      if (data instanceof Uint8Array && data.byteLength > maxStreamBytes) throw tooLarge(maxStreamBytes);
      return parseClamdReply(await exchange("INSTREAM", data));
    },
    async ping() {
      const reply = await exchange("PING");
      if (reply.trim() !== "PONG")
        throw new ScanError("protocol", `clamd answered PING with ${reply.slice(0, 100)}`);
    },
  };
}

function tooLarge(max: number): ScanError {
  return new ScanError("size_limit", `larger than clamd's StreamMaxLength (${max} bytes)`);
}

function writeFrame(socket: Socket, chunk: Uint8Array): Promise<void> {
  if (socket.destroyed) return Promise.reject(new Error("socket closed"));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(chunk.byteLength, 0);
  // One segment per frame: clamd reads the length, then the chunk.
  socket.cork();
  socket.write(header);
  const flushed = socket.write(chunk);
  socket.uncork();
  if (flushed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      socket.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      socket.off("drain", onDrain);
      reject(new Error("socket closed"));
    };
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  });
}

async function streamBody(
  socket: Socket,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  chunkBytes: number,
  maxStreamBytes: number,
  replied: () => boolean,
): Promise<void> {
  const pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = body instanceof Uint8Array ? [body] : body;
  let sent = 0;
  for await (const piece of pieces) {
    sent += piece.byteLength;
    if (sent > maxStreamBytes) throw tooLarge(maxStreamBytes);
    for (let at = 0; at < piece.byteLength; at += chunkBytes) {
      if (replied()) return; // clamd already answered (a refusal): stop feeding it
      await writeFrame(socket, piece.subarray(at, Math.min(at + chunkBytes, piece.byteLength)));
    }
  }
  if (!socket.destroyed) socket.write(Buffer.alloc(4)); // zero length: end of stream
}
