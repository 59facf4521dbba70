// parley.v1 over plain HTTP, for networks where a WebSocket cannot be opened ("compatibility mode"): each command
// becomes a request of the HTTP API (/api/v1) and what the server pushes comes from its event stream
// (/api/v1/events). To the rest of the client it is a connection like the WebSocket's: commands in, parley.v1 events
// out, a disconnect with a close code and a reconnect after a backoff — after which the client says hello again,
// rejoins its rooms from their offsets and resends its pending messages with their ids, as over a WebSocket.

import { answerOf, callAPI, type Answer } from "./api";
import { backoffDelay } from "./backoff";
import type { ConnectionCallbacks, Transport } from "./connection";
import { EventStreamParser, type StreamEvent } from "./eventStream";
import { CloseCode, parseEvent, type ClientCommand, type ErrorCode, type ServerEvent } from "./protocol";

/** What an HttpChatConnection needs from its environment; tests pass fakes. */
export interface HttpEnvironment {
  fetch(url: string, init: RequestInit): Promise<Response>;
  random(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const browserEnvironment: HttpEnvironment = {
  fetch: (url, init) => window.fetch(url, init),
  random: Math.random,
  setTimeout: (callback, ms) => window.setTimeout(callback, ms),
  clearTimeout: (handle) => window.clearTimeout(handle as number),
};

/** A room the event stream follows: the offset it resumes after, and the ref of the command that joined it. */
interface FollowedRoom {
  after?: number;
  ref?: string;
}

/** The close code of a connection lost without a word from the server, as a browser reports a WebSocket's. */
const abnormalClosure = 1006;

export class HttpChatConnection implements Transport {
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private stopped = true;
  private open = false;
  /** Advanced at every disconnect: what arrives for an earlier connection is dropped. */
  private epoch = 0;
  /** The guest's name as the server enforced it, once welcomed as a guest. */
  private guest: string | null = null;
  /** Commands sent while the hello is unanswered (`null` once it is answered), performed after it in the order
   * sent, as a WebSocket's server reads them after the hello: sent at once they would go without the guest's name
   * and be refused (401), which would sign the page out. */
  private afterHello: ClientCommand[] | null = null;
  private readonly rooms = new Map<string, FollowedRoom>();
  private stream: AbortController | null = null;
  private streamScheduled = false;
  /** The posts of messages, chained: each starts when the one before has its answer. */
  private posts: Promise<void> = Promise.resolve();

  /** `asGuest`: say hello as a guest of the hello's name; otherwise as the session cookie's user. */
  constructor(
    private readonly callbacks: ConnectionCallbacks,
    private readonly asGuest: boolean,
    private readonly environment: HttpEnvironment = browserEnvironment,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.open = false;
    this.epoch += 1;
    if (this.reconnectTimer !== null) this.environment.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.closeStream();
    this.rooms.clear();
  }

  markHealthy(): void {
    this.attempt = 0;
  }

  send(command: ClientCommand): boolean {
    if (!this.open) return false;
    if (command.type !== "hello" && this.afterHello !== null) this.afterHello.push(command);
    else void this.perform(command, this.epoch);
    return true;
  }

  private connect(): void {
    if (this.stopped) return;
    this.open = true;
    this.guest = null;
    this.afterHello = [];
    const epoch = this.epoch;
    this.environment.setTimeout(() => {
      if (epoch === this.epoch) this.callbacks.onOpen();
    }, 0);
  }

  /** The connection is over (lost, or ended by the server with `code`): forget the rooms, reconnect after a backoff. */
  private drop(code: number): void {
    if (!this.open) return;
    this.open = false;
    this.epoch += 1;
    this.closeStream();
    this.rooms.clear();
    const delay = backoffDelay(this.attempt, this.environment.random);
    this.attempt += 1;
    this.callbacks.onDisconnect(delay, code);
    if (this.stopped) return;
    this.reconnectTimer = this.environment.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private emit(event: ServerEvent): void {
    this.callbacks.onEvent(event);
  }

  private async perform(command: ClientCommand, epoch: number): Promise<void> {
    const ref = command.ref;
    const room = "room" in command ? encodeURIComponent(command.room) : "";
    switch (command.type) {
      case "hello": {
        const answer = await this.request("GET", "me", undefined, this.asGuest ? command.name : null);
        if (epoch !== this.epoch) return;
        if (answer.kind !== "answered") {
          this.refused(answer, ref, CloseCode.bannedFromServer);
          if (epoch === this.epoch) this.refuseWaitingForHello();
          return;
        }
        const { user, limits, expiresAt } = answer.body;
        this.guest = this.asGuest ? user.name : null;
        const waiting = this.afterHello ?? [];
        this.afterHello = null;
        for (const waitingCommand of waiting) void this.perform(waitingCommand, epoch);
        return this.emit({ type: "welcome", ref, session: "http", user, limits, expiresAt });
      }
      case "join":
        this.rooms.set(command.room, { after: command.since, ref });
        return this.scheduleStream();
      case "leave":
        this.rooms.delete(command.room);
        this.scheduleStream();
        return this.emit({ type: "left", ref, room: command.room });
      case "send": {
        // One post at a time, in the order sent: requests in flight together could be stored in any order.
        const post = () =>
          epoch === this.epoch
            ? this.reply(epoch, ref, "POST", `rooms/${room}/messages`, { text: command.text, id: command.id }, (ack) => ({ type: "ack", ref, ...ack }))
            : undefined;
        this.posts = this.posts.then(post, post);
        return this.posts;
      }
      case "history":
        return this.reply(epoch, ref, "GET", `rooms/${room}/messages${query({ before: command.before, limit: command.limit })}`, undefined, (page) => ({
          type: "history",
          ref,
          room: command.room,
          messages: page.messages,
        }));
      case "typing":
        return this.reply(epoch, ref, "POST", `rooms/${room}/typing`, undefined, () => null);
      case "members":
        return this.reply(epoch, ref, "GET", `rooms/${room}/members${query({ after: command.after, limit: command.limit })}`, undefined, (page) => ({
          type: "members",
          ref,
          room: command.room,
          users: page.users,
          next: page.next ?? null,
        }));
      case "rooms":
        return this.reply(epoch, ref, "GET", "rooms", undefined, (list) => ({ type: "rooms", ref, rooms: list.rooms }));
      case "create":
        return this.reply(epoch, ref, "POST", "rooms", { room: command.room, visibility: command.visibility }, (created) => ({
          type: "created",
          ref,
          room: created.room,
          visibility: created.visibility,
        }));
      case "dm":
        return this.reply(epoch, ref, "POST", "dms", { user: command.user }, (opened) => {
          // Its `joined` comes from the stream, with this command's ref, as a WebSocket's reply would.
          this.rooms.set(opened.room, { ref });
          this.scheduleStream();
          return null;
        });
      case "invite":
      case "kick":
      case "ban":
      case "unban":
        return this.reply(epoch, ref, "POST", `rooms/${room}/${command.type}`, { user: command.user }, () => ({ type: "done", ref }));
      case "role":
        return this.reply(epoch, ref, "POST", `rooms/${room}/role`, { user: command.user, role: command.role }, () => ({ type: "done", ref }));
      case "delete":
        return this.reply(epoch, ref, "DELETE", `rooms/${room}/messages/${command.offset}`, undefined, () => ({ type: "done", ref }));
      case "ping":
        return this.emit({ type: "pong", ref });
      case "refresh":
        return this.emit({ type: "error", ref, code: "bad_request", message: "tokens are not refreshed over HTTP" });
    }
  }

  /** Makes a request and passes on what `event` makes of its answer, or the refusal as an `error` event. */
  private async reply(
    epoch: number,
    ref: string | undefined,
    method: string,
    path: string,
    body: unknown,
    event: (answer: any) => ServerEvent | null,
  ): Promise<void> {
    const answer = await this.request(method, path, body);
    if (epoch !== this.epoch) return;
    if (answer.kind !== "answered") return this.refused(answer, ref, null);
    const made = event(answer.body);
    if (made !== null) this.emit(made);
  }

  /** A hello was refused and the connection stays (a bad or taken name): what waited for it is refused as a
   * WebSocket's server refuses commands before a hello, and later commands wait for the next hello. */
  private refuseWaitingForHello(): void {
    const waiting = this.afterHello ?? [];
    this.afterHello = [];
    for (const command of waiting) {
      this.emit({ type: "error", ref: command.ref, code: "hello_required", message: "send hello first" });
    }
  }

  /** A refusal is the command's `error` event, as over a WebSocket; a credential the server no longer takes ends
   * the connection (4001), as does a ban from the server when saying hello (`helloForbidden`, for a hello only); a
   * lost request, or a hello the server could not answer, loses the connection. */
  private refused(answer: Exclude<Answer, { kind: "answered" }>, ref: string | undefined, helloForbidden: number | null): void {
    if (answer.kind === "lost") return this.drop(abnormalClosure);
    if (answer.status === 401) return this.drop(CloseCode.unauthorized);
    if (helloForbidden !== null && answer.status === 403) return this.drop(helloForbidden);
    // A hello the server could not answer (its database is down) is tried again later.
    if (helloForbidden !== null && answer.status >= 500) return this.drop(abnormalClosure);
    this.emit({ type: "error", ref, code: answer.code as ErrorCode, message: answer.message });
  }

  private request(method: string, path: string, body?: unknown, guest: string | null = this.guest): Promise<Answer> {
    return callAPI(method, `${path}${this.guestParameter(path, guest)}`, body, this.environment.fetch);
  }

  private guestParameter(path: string, guest: string | null): string {
    return guest === null ? "" : `${path.includes("?") ? "&" : "?"}guest=${encodeURIComponent(guest)}`;
  }

  // MARK: The event stream

  /** Follows the rooms as they are now, once the commands of this turn (a burst of joins) are in. */
  private scheduleStream(): void {
    if (this.streamScheduled) return;
    this.streamScheduled = true;
    const epoch = this.epoch;
    this.environment.setTimeout(() => {
      this.streamScheduled = false;
      if (epoch === this.epoch) void this.follow(epoch);
    }, 0);
  }

  private closeStream(): void {
    this.stream?.abort();
    this.stream = null;
  }

  /** Opens the stream of the followed rooms (in place of the last one), each resuming after the last offset it
   * delivered, and passes its events on until it ends. */
  private async follow(epoch: number): Promise<void> {
    this.closeStream();
    if (this.rooms.size === 0) return;
    const controller = new AbortController();
    this.stream = controller;
    const rooms = [...this.rooms].map(([room, followed]) => (followed.after === undefined ? room : `${room}:${followed.after}`)).join(",");
    const path = `events?rooms=${encodeURIComponent(rooms)}`;
    let response: Response;
    try {
      response = await this.environment.fetch(`/api/v1/${path}${this.guestParameter(path, this.guest)}`, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/event-stream" },
        signal: controller.signal,
      });
    } catch {
      if (this.stream === controller) this.drop(abnormalClosure);
      return;
    }
    if (this.stream !== controller) return;
    if (response.status !== 200 || response.body === null) {
      const answer = await answerOf(response);
      if (this.stream === controller) await this.streamRefused(answer, epoch);
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new EventStreamParser();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (this.stream !== controller || done) break;
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          if (this.stream !== controller) break;
          this.receive(event);
        }
      }
    } catch {
      // The stream broke off: the same as its end.
    }
    // A stream ends by a `close` event; one that just stops is a server gone away.
    if (this.stream === controller) this.drop(abnormalClosure);
  }

  private receive(streamEvent: StreamEvent): void {
    if (streamEvent.type === "close") {
      let code: unknown;
      try {
        code = JSON.parse(streamEvent.data).code;
      } catch {
        code = undefined;
      }
      return this.drop(typeof code === "number" ? code : abnormalClosure);
    }
    const event = parseEvent(streamEvent.data);
    if (event === null) return;
    switch (event.type) {
      case "welcome":
        // The connection was welcomed by its hello; each stream's own welcome says nothing new.
        return;
      case "joined":
        return this.emit({ ...event, ref: this.rooms.get(event.room)?.ref });
      case "message":
      case "deleted": {
        const followed = this.rooms.get(event.room);
        if (followed) followed.after = Math.max(followed.after ?? 0, event.offset);
        break;
      }
      case "removed":
        this.rooms.delete(event.room);
        break;
    }
    this.emit(event);
  }

  /** A stream the server would not open: a room the user may no longer enter (banned, made private) is found and
   * refused as its join would be, and the others are followed again; anything else ends the connection. */
  private async streamRefused(answer: Answer, epoch: number): Promise<void> {
    this.stream = null;
    if (answer.kind === "refused" && answer.status === 401) return this.drop(CloseCode.unauthorized);
    // Busy (429) or without its database (503): try again later, as after a lost connection.
    if (answer.kind !== "refused" || ![400, 403, 404].includes(answer.status)) return this.drop(abnormalClosure);
    const refusals: { room: string; ref?: string; code: ErrorCode; message: string }[] = [];
    for (const [room, followed] of [...this.rooms]) {
      const probe = await this.request("GET", `rooms/${encodeURIComponent(room)}/messages?limit=1`);
      if (epoch !== this.epoch) return;
      if (probe.kind === "lost") return this.drop(abnormalClosure);
      if (probe.kind === "refused") refusals.push({ room, ref: followed.ref, code: probe.code as ErrorCode, message: probe.message });
    }
    if (refusals.length === 0) return this.drop(abnormalClosure);
    for (const refusal of refusals) {
      this.rooms.delete(refusal.room);
      this.emit({ type: "error", ref: refusal.ref, code: refusal.code, message: refusal.message });
    }
    this.scheduleStream();
  }
}

/** A query string of the parameters that are set. */
function query(parameters: Record<string, string | number | undefined>): string {
  const set = Object.entries(parameters).filter(([, value]) => value !== undefined);
  return set.length === 0 ? "" : "?" + set.map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`).join("&");
}
