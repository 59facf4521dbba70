// Server-Sent Events read from a fetch response (text/event-stream), as a browser's EventSource would split them,
// but with the status, the JSON errors and the reconnections in the client's hands.

/** One event of the stream. */
export interface StreamEvent {
  /** The `event:` field; `message` when there was none. */
  type: string;
  /** The `data:` lines, joined with newlines. */
  data: string;
}

/** Splits text/event-stream text, fed in chunks as it arrives, into events; comments and `id:`/`retry:` are dropped. */
export class EventStreamParser {
  private buffer = "";
  private type = "";
  private data: string[] = [];

  /** Feeds the next chunk of decoded text; returns the events it completed. */
  push(text: string): StreamEvent[] {
    this.buffer += text;
    const events: StreamEvent[] = [];
    let end = this.buffer.indexOf("\n");
    while (end >= 0) {
      const line = this.buffer.slice(0, end).replace(/\r$/, "");
      this.buffer = this.buffer.slice(end + 1);
      const event = this.line(line);
      if (event !== null) events.push(event);
      end = this.buffer.indexOf("\n");
    }
    return events;
  }

  private line(line: string): StreamEvent | null {
    if (line === "") {
      const event = this.data.length > 0 ? { type: this.type || "message", data: this.data.join("\n") } : null;
      this.type = "";
      this.data = [];
      return event;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon >= 0 ? line.slice(0, colon) : line;
    const value = colon >= 0 ? line.slice(colon + 1).replace(/^ /, "") : "";
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    return null;
  }
}
