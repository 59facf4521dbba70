// One WebSocket to the server that reconnects on its own: exponential backoff with full jitter.

import { backoffDelay } from "./backoff";
import { encodeCommand, parseEvent, SUBPROTOCOL, type ClientCommand, type ServerEvent } from "./protocol";

export interface ConnectionCallbacks {
  /** The socket is open; say hello now. */
  onOpen(): void;
  /** A parley.v1 event arrived. */
  onEvent(event: ServerEvent): void;
  /** The socket closed; a reconnect is scheduled after `delayMs`. */
  onDisconnect(delayMs: number, closeCode: number): void;
}

/** What a ChatConnection needs from its environment; tests pass fakes. */
export interface ConnectionEnvironment {
  createSocket(url: string, protocol: string): WebSocket;
  random(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const browserEnvironment: ConnectionEnvironment = {
  createSocket: (url, protocol) => new WebSocket(url, protocol),
  random: Math.random,
  setTimeout: (callback, ms) => window.setTimeout(callback, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number),
};

export class ChatConnection {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly callbacks: ConnectionCallbacks,
    private readonly environment: ConnectionEnvironment = browserEnvironment,
  ) {}

  /** Opens the socket (and keeps reopening it until `stop`). */
  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Closes the socket for good. */
  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== null) this.environment.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.socket?.close(1000);
    this.socket = null;
  }

  /** The server accepted the session: the next disconnect starts the backoff from the beginning. */
  markHealthy(): void {
    this.attempt = 0;
  }

  /** Sends a command if the socket is open; returns whether it was written. */
  send(command: ClientCommand): boolean {
    if (this.socket === null || this.socket.readyState !== 1) return false;
    this.socket.send(encodeCommand(command));
    return true;
  }

  private open(): void {
    if (this.stopped) return;
    const socket = this.environment.createSocket(this.url, SUBPROTOCOL);
    this.socket = socket;
    socket.onopen = () => this.callbacks.onOpen();
    socket.onmessage = (message: MessageEvent) => {
      if (typeof message.data !== "string") return;
      const event = parseEvent(message.data);
      if (event !== null) this.callbacks.onEvent(event);
    };
    socket.onclose = (close: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      const delay = backoffDelay(this.attempt, this.environment.random);
      this.attempt += 1;
      this.callbacks.onDisconnect(delay, close.code);
      this.reconnectTimer = this.environment.setTimeout(() => {
        this.reconnectTimer = null;
        this.open();
      }, delay);
    };
  }
}

/** The WebSocket address of the server that served this page. */
export function defaultServerURL(location: Location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}
