/**
 * WebSocket for Node 20 (which has none built in; Node 22+, Bun, browsers and React Native do):
 *   import { WebSocket } from "@horizon/client/node-websocket";
 *   createHorizonClient({ url, storage, WebSocket });
 * Needs the `ws` package installed beside the SDK (an optional peer dependency).
 */
import WebSocket from "ws";

export { WebSocket };
export default WebSocket;
