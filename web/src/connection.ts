// One WebSocket to the server that reconnects on its own (exponential backoff with full jitter), and the fallback to
// plain HTTP when a WebSocket cannot be opened at all.

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

/** A way to the server that carries parley.v1: a WebSocket, or requests and an event stream over plain HTTP. */
export interface Transport {
  /** Connects (and keeps reconnecting until `stop`). */
  start(): void;
  /** Disconnects for good. */
  stop(): void;
  /** The server accepted the session: the next disconnect starts the backoff from the beginning. */
  markHealthy(): void;
  /** Sends a command if connected; returns whether it was sent. */
  send(command: ClientCommand): boolean;
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

export class ChatConnection implements Transport {
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

/** How long the first WebSocket may take to open before the client falls back to plain HTTP. */
export const UPGRADE_TIMEOUT_MS = 5000;

/** How the fallback to plain HTTP happens. */
export interface FallbackOptions {
  /** Start over plain HTTP at once (the page found earlier that WebSockets do not get through). */
  startWithFallback: boolean;
  /** The connection over plain HTTP, passing on to `callbacks`. */
  createFallback(callbacks: ConnectionCallbacks): Transport;
  /** Called once the fallback is taken. */
  onFallback(): void;
}

/** A WebSocket, or — when one cannot be opened (not within ``UPGRADE_TIMEOUT_MS``, or twice in a row, a proxy or
 * firewall in the way) — the fallback over plain HTTP, for the rest of the page's life. Once a WebSocket has opened,
 * later failures are the server's or the network's, and the WebSocket keeps reconnecting. */
export class FallbackConnection implements Transport {
  private current: Transport | null = null;
  private opened = false;
  private failedOpens = 0;
  private upgradeTimer: unknown = null;

  constructor(
    private readonly url: string,
    private readonly callbacks: ConnectionCallbacks,
    private readonly options: FallbackOptions,
    private readonly environment: ConnectionEnvironment = browserEnvironment,
  ) {}

  start(): void {
    if (this.options.startWithFallback) {
      this.current = this.options.createFallback(this.callbacks);
      this.current.start();
      return;
    }
    this.current = new ChatConnection(
      this.url,
      {
        onOpen: () => {
          this.opened = true;
          this.clearUpgradeTimer();
          this.callbacks.onOpen();
        },
        onEvent: (event) => this.callbacks.onEvent(event),
        onDisconnect: (delayMs, closeCode) => {
          if (!this.opened) {
            this.failedOpens += 1;
            if (this.failedOpens >= 2) return this.fallBack();
          }
          this.callbacks.onDisconnect(delayMs, closeCode);
        },
      },
      this.environment,
    );
    this.current.start();
    this.upgradeTimer = this.environment.setTimeout(() => {
      this.upgradeTimer = null;
      if (!this.opened) this.fallBack();
    }, UPGRADE_TIMEOUT_MS);
  }

  stop(): void {
    this.clearUpgradeTimer();
    this.current?.stop();
  }

  markHealthy(): void {
    this.current?.markHealthy();
  }

  send(command: ClientCommand): boolean {
    return this.current?.send(command) ?? false;
  }

  private fallBack(): void {
    this.clearUpgradeTimer();
    this.current?.stop();
    this.options.onFallback();
    this.current = this.options.createFallback(this.callbacks);
    this.current.start();
  }

  private clearUpgradeTimer(): void {
    if (this.upgradeTimer !== null) this.environment.clearTimeout(this.upgradeTimer);
    this.upgradeTimer = null;
  }
}
