/**
 * What a WebSocket server (Bun.serve, Node `ws`) needs from the rooms behind it. The standalone
 * host passes the in-process room hub; the transports below know sockets, not the protocol.
 */
export interface GatewaySocket {
  readonly id: string;
  send(data: string): void;
  close(code: number, reason: string): void;
}

export type Authorization<C> = { ok: true; claims: C } | { ok: false; response: Response };

export interface RoomGateway<C = unknown, H = unknown> {
  /** The room of a request path (`/parties/building/{id}`), or null when the path is not a room. */
  match(pathname: string): string | null;
  /**
   * Runs before the upgrade: a refused request gets `response` (401/403 problem+json carrying
   * `correlationId`) and no socket.
   */
  authorize(url: string, roomId: string, correlationId: string): Promise<Authorization<C>>;
  open(roomId: string, socket: GatewaySocket, claims: C): Promise<H>;
  message(handle: H, data: string | ArrayBuffer | ArrayBufferView): Promise<void>;
  close(handle: H): Promise<void>;
  /** Transports refuse larger frames themselves (close 1009) before buffering them whole. */
  readonly maxFrameBytes: number;
}
