/** Baseline: bare node:http answering the same JSON as the Hono targets. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { announce } from "../serve";

const body = JSON.stringify({ status: "ok" });
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, "127.0.0.1", () => announce((server.address() as AddressInfo).port));
