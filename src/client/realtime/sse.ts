/**
 * A Server-Sent Events reader over fetch: unlike EventSource it can send `Authorization` and
 * runs on Node, Bun, browsers and React Native alike. Parses the text/event-stream format
 * (WHATWG HTML §9.2): `id:`, `event:`, `data:` (joined by newlines), blank line dispatches.
 */
export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

export async function readSse(
  body: ReadableStream<Uint8Array>,
  onMessage: (m: SseMessage) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | null = null;
  let event = "message";
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let nl = buffer.search(/\r\n|\r|\n/);
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (data.length) onMessage({ id, event, data: data.join("\n") });
        event = "message";
        data = [];
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? "" : line.slice(colon + 1);
        if (v.startsWith(" ")) v = v.slice(1);
        if (field === "data") data.push(v);
        else if (field === "event") event = v;
        else if (field === "id" && !v.includes("\u0000")) id = v;
      }
      nl = buffer.search(/\r\n|\r|\n/);
    }
  }
}
