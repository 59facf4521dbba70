// The chat's state as a pure reducer: everything the screen shows, and everything a reconnect needs to resume.

import type { ChatMessage, ErrorCode, Limits, RoomKind, RoomSummary, RoomVisibility, ServerEvent, UserRef } from "./protocol";

export type ConnectionStatus = "connecting" | "online" | "reconnecting";

/** A message the user sent that has no ack yet (or whose send failed). */
export interface PendingMessage {
  id: string;
  room: string;
  text: string;
  failure?: { code: ErrorCode; message: string };
}

export interface RoomState {
  name: string;
  /** A room or a direct message, and who may enter it (from `joined`; a public room until then). */
  kind: RoomKind;
  visibility: RoomVisibility;
  /** For a direct message, the other person. */
  peer?: UserRef;
  /** Stored messages, ascending by offset, each offset once. */
  messages: ChatMessage[];
  /** The highest offset received: where a reconnect resumes. 0 before any. */
  lastOffset: number;
  /** Whether history has been paged back to offset 1. */
  reachedBeginning: boolean;
  /** Who is in the room, sorted by name; people with one name are told apart by id. In a large room, a page. */
  members: UserRef[];
  /** In a large room (more users than the server lists), how many there are. */
  memberCount?: number;
  /** In a large room, the users paged in with `members` so far, by id, and where the next page starts. */
  memberPages?: { users: UserRef[]; next: string | null };
  /** User id → their name and the time (ms) until which they count as typing. */
  typing: Record<string, { name: string; until: number }>;
  unread: number;
  /** Messages from others above this offset count as unread while the room is not shown. */
  unreadAfter: number;
}

export interface ChatState {
  /** The display name to say hello with (a guest's), or the signed-in user's once welcomed. */
  name: string | null;
  /** The user id the server welcomed this client as; `null` until then. */
  userId: string | null;
  status: ConnectionStatus;
  rooms: Record<string, RoomState>;
  /** Rooms in the order they were joined. */
  roomOrder: string[];
  current: string | null;
  /** Unacknowledged sends, in the order they were made. */
  pending: PendingMessage[];
  limits: Limits | null;
  /** The user's rooms and the public ones, with the user's role in each (the `rooms` reply); empty until then. */
  directory: RoomSummary[];
  /** Something the server did to the user that the screen should say once, until dismissed. */
  notice: Notice | null;
}

/** What the screen tells the user about access to rooms. */
export type Notice =
  | { kind: "removed"; room: string; reason: "kicked" | "banned" }
  | { kind: "invited"; room: string; by: string }
  | { kind: "refused"; room: string; code: ErrorCode }
  | { kind: "failed"; code: ErrorCode; message: string };

/** The refs of commands whose refusal the reducer turns into a notice: `join:ROOM`, and `act:…` for the rest. */
export function joinRef(room: string): string {
  return `join:${room}`;
}
export const actionRef = "act";
/** The ref of a `dm` command: its `joined` opens a room the client did not know the name of. */
export const directMessageRef = "dm";

/** The refs of `members` commands: the first page of a large room's list, a further page, or the whole list of a
 * room that became small again (which replaces `members`). */
export function membersRef(room: string, page: "first" | "more" | "refresh"): string {
  return `members-${page}:${room}`;
}
export type ChatAction =
  | { kind: "setName"; name: string }
  | { kind: "forgetUser" }
  | { kind: "status"; status: ConnectionStatus }
  | { kind: "openRoom"; room: string }
  | { kind: "closeRoom"; room: string }
  | { kind: "queueSend"; id: string; room: string; text: string }
  | { kind: "retry"; id: string }
  | { kind: "discard"; id: string }
  | { kind: "event"; event: ServerEvent; now: number }
  | { kind: "dismissNotice" }
  | { kind: "disconnected" };

/** How long a `typing` event shows the typist. */
export const TYPING_MS = 4000;

export function initialState(name: string | null = null, rooms: string[] = [], pending: PendingMessage[] = []): ChatState {
  let state: ChatState = {
    name,
    userId: null,
    status: "connecting",
    rooms: {},
    roomOrder: [],
    current: null,
    pending,
    limits: null,
    directory: [],
    notice: null,
  };
  for (const room of rooms) state = reduce(state, { kind: "openRoom", room });
  return state;
}

function emptyRoom(name: string): RoomState {
  return { name, kind: "room", visibility: "public", messages: [], lastOffset: 0, reachedBeginning: false, members: [], typing: {}, unread: 0, unreadAfter: 0 };
}

/** Inserts messages keeping ascending offsets and dropping offsets already present. */
export function mergeMessages(existing: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return existing;
  const last = existing.length > 0 ? existing[existing.length - 1].offset : 0;
  const sortedIncoming = [...incoming].sort((a, b) => a.offset - b.offset);
  if (sortedIncoming[0].offset > last) {
    const result = existing.slice();
    for (const message of sortedIncoming) {
      if (result.length === 0 || result[result.length - 1].offset < message.offset) result.push(message);
    }
    return result;
  }
  const byOffset = new Map<number, ChatMessage>();
  for (const message of existing) byOffset.set(message.offset, message);
  for (const message of sortedIncoming) if (!byOffset.has(message.offset)) byOffset.set(message.offset, message);
  return [...byOffset.values()].sort((a, b) => a.offset - b.offset);
}

function updateRoom(state: ChatState, room: string, change: (room: RoomState) => RoomState): ChatState {
  const current = state.rooms[room];
  if (!current) return state;
  return { ...state, rooms: { ...state.rooms, [room]: change(current) } };
}

function withoutPending(state: ChatState, room: string, id: string): PendingMessage[] {
  return state.pending.filter((pending) => !(pending.room === room && pending.id === id));
}

/** The ref a send carries, so replies and errors can be matched to the pending message. */
export function sendRef(id: string): string {
  return `send:${id}`;
}

function receiveMessages(state: ChatState, room: string, messages: ChatMessage[]): ChatState {
  const roomState = state.rooms[room];
  if (!roomState) return state;
  const known = new Set(roomState.messages.map((message) => message.offset));
  const fresh = messages.filter((message) => !known.has(message.offset));
  const merged = mergeMessages(roomState.messages, fresh);
  const newest = merged.length > 0 ? merged[merged.length - 1].offset : 0;
  const ownIds = new Set(messages.filter((message) => isOwn(state, message)).map((message) => message.id));
  const unread = room === state.current ? 0 : fresh.filter((m) => !isOwn(state, m) && m.offset > roomState.unreadAfter).length;
  return {
    ...state,
    pending: state.pending.filter((pending) => !(pending.room === room && ownIds.has(pending.id))),
    rooms: {
      ...state.rooms,
      [room]: { ...roomState, messages: merged, lastOffset: Math.max(roomState.lastOffset, newest), unread: roomState.unread + unread },
    },
  };
}

/** Whether this client's user sent a message (by id once welcomed: two people may share a name). */
export function isOwn(state: Pick<ChatState, "name" | "userId">, message: ChatMessage): boolean {
  return state.userId !== null ? message.fromId === state.userId : message.from === state.name;
}

function byName(a: UserRef, b: UserRef): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function reduce(state: ChatState, action: ChatAction): ChatState {
  switch (action.kind) {
    case "setName":
      return { ...state, name: action.name };
    case "forgetUser":
      return { ...state, name: null, userId: null, status: "connecting" };
    case "status":
      return { ...state, status: action.status };
    case "openRoom": {
      const existing = state.rooms[action.room];
      const opened = existing ? { ...existing, unread: 0 } : emptyRoom(action.room);
      const roomOrder = existing ? state.roomOrder : [...state.roomOrder, action.room];
      return { ...state, rooms: { ...state.rooms, [action.room]: opened }, roomOrder, current: action.room };
    }
    case "closeRoom":
      return withoutRoom(state, action.room);
    case "dismissNotice":
      return { ...state, notice: null };
    case "queueSend":
      return { ...state, pending: [...state.pending, { id: action.id, room: action.room, text: action.text }] };
    case "retry":
      return { ...state, pending: state.pending.map((p) => (p.id === action.id ? { ...p, failure: undefined } : p)) };
    case "discard":
      return { ...state, pending: state.pending.filter((p) => p.id !== action.id) };
    case "disconnected": {
      const rooms: Record<string, RoomState> = {};
      for (const [name, room] of Object.entries(state.rooms)) rooms[name] = { ...room, typing: {} };
      return { ...state, rooms, status: "reconnecting" };
    }
    case "event":
      return applyEvent(state, action.event, action.now);
  }
}

/** The state without `room` (closed, or the user was removed from it), its unsent messages dropped. */
function withoutRoom(state: ChatState, room: string): ChatState {
  const { [room]: _closed, ...rooms } = state.rooms;
  const roomOrder = state.roomOrder.filter((name) => name !== room);
  const current = state.current === room ? roomOrder[roomOrder.length - 1] ?? null : state.current;
  return { ...state, rooms, roomOrder, current, pending: state.pending.filter((p) => p.room !== room) };
}

/** The user's role in a room, from the last `rooms` reply. */
export function roleIn(state: Pick<ChatState, "directory">, room: string): RoomSummary["role"] {
  return state.directory.find((summary) => summary.room === room)?.role;
}

/** Whether the user may kick, ban and invite in a room (owner or moderator). */
export function moderates(state: Pick<ChatState, "directory">, room: string): boolean {
  const role = roleIn(state, room);
  return role === "owner" || role === "moderator";
}

/** How a room is named on screen: a direct message by the other person's name. */
export function roomTitle(room: Pick<RoomState, "name" | "kind" | "peer">): string {
  return room.kind === "dm" && room.peer ? `@${room.peer.name}` : `#${room.name}`;
}

function applyEvent(state: ChatState, event: ServerEvent, now: number): ChatState {
  switch (event.type) {
    case "welcome":
      return { ...state, name: event.user.name, userId: event.user.id, limits: event.limits, status: "online" };
    case "joined":
      if (event.ref === directMessageRef && !state.rooms[event.room]) {
        state = reduce(state, { kind: "openRoom", room: event.room });
      }
      return updateRoom(state, event.room, (room) => ({
        ...room,
        kind: event.kind ?? "room",
        visibility: event.visibility ?? "public",
        peer: event.peer,
        members: [...event.users].sort(byName),
        memberCount: event.memberCount,
        memberPages: event.memberCount === undefined ? undefined : room.memberPages,
        unreadAfter: room.lastOffset > 0 ? room.lastOffset : event.head,
      }));
    case "members": {
      const match = /^members-(first|more|refresh):(.*)$/.exec(event.ref ?? "");
      if (!match) return state;
      const [, page, name] = match;
      return updateRoom(state, name, (room) => {
        if (page === "refresh") return { ...room, members: [...event.users].sort(byName), memberCount: undefined, memberPages: undefined };
        const earlier = page === "more" ? room.memberPages?.users ?? [] : [];
        const known = new Set(earlier.map((user) => user.id));
        return { ...room, memberPages: { users: [...earlier, ...event.users.filter((user) => !known.has(user.id))], next: event.next } };
      });
    }
    case "deleted":
      // The deletion is an entry of the room's log: it moves the resume offset, and the message becomes a placeholder.
      return updateRoom(state, event.room, (room) => ({
        ...room,
        lastOffset: Math.max(room.lastOffset, event.offset),
        messages: room.messages.map((message) => (message.offset === event.target ? { ...message, text: "", deleted: true } : message)),
      }));
    case "removed":
      return { ...withoutRoom(state, event.room), notice: { kind: "removed", room: event.room, reason: event.reason } };
    case "invited":
      return { ...state, notice: { kind: "invited", room: event.room, by: event.by } };
    case "rooms":
      return { ...state, directory: event.rooms };
    case "message": {
      const { type: _type, ...message } = event;
      const withTypingCleared = updateRoom(state, event.room, (room) => {
        if (!(message.fromId in room.typing)) return room;
        const { [message.fromId]: _gone, ...typing } = room.typing;
        return { ...room, typing };
      });
      return receiveMessages(withTypingCleared, event.room, [message]);
    }
    case "ack": {
      const pending = state.pending.find((p) => p.room === event.room && p.id === event.id);
      if (!pending || state.name === null) return { ...state, pending: withoutPending(state, event.room, event.id) };
      const delivered: ChatMessage = {
        room: event.room,
        offset: event.offset,
        id: event.id,
        from: state.name,
        fromId: state.userId ?? "",
        text: pending.text,
        ts: event.ts,
      };
      return receiveMessages(state, event.room, [delivered]);
    }
    case "history":
      return updateRoom(state, event.room, (room) => {
        const merged = mergeMessages(room.messages, event.messages);
        const oldest = merged.length > 0 ? merged[0].offset : 0;
        return {
          ...room,
          messages: merged,
          lastOffset: Math.max(room.lastOffset, merged.length > 0 ? merged[merged.length - 1].offset : 0),
          reachedBeginning: event.messages.length === 0 || oldest <= 1,
        };
      });
    case "presence":
      if ("count" in event) {
        const large = event.count > (state.limits?.presenceListLimit ?? 100);
        return updateRoom(state, event.room, (room) => ({ ...room, memberCount: large ? event.count : undefined }));
      }
      return updateRoom(state, event.room, (room) => {
        const others = room.members.filter((member) => member.id !== event.userId);
        const members = event.event === "join" ? [...others, { id: event.userId, name: event.user }].sort(byName) : others;
        return { ...room, members };
      });
    case "typing":
      return updateRoom(state, event.room, (room) => ({
        ...room,
        typing: { ...room.typing, [event.fromId]: { name: event.from, until: now + TYPING_MS } },
      }));
    case "error": {
      const ref = event.ref ?? "";
      if (ref.startsWith("join:") && (event.code === "forbidden" || event.code === "invalid_room")) {
        const room = ref.slice("join:".length);
        return { ...withoutRoom(state, room), notice: { kind: "refused", room, code: event.code } };
      }
      if (ref === actionRef) return { ...state, notice: { kind: "failed", code: event.code, message: event.message } };
      if (!ref.startsWith("send:")) return state;
      const id = ref.slice("send:".length);
      return {
        ...state,
        pending: state.pending.map((p) => (p.id === id ? { ...p, failure: { code: event.code, message: event.message } } : p)),
      };
    }
    case "left":
    case "pong":
    case "refreshed":
    case "created":
    case "done":
      return state;
  }
}

/** The names typing in a room at `now`, the user (by id) excluded. */
export function typingNames(room: RoomState, now: number, selfId: string | null): string[] {
  return Object.entries(room.typing)
    .filter(([id, typist]) => typist.until > now && id !== selfId)
    .map(([, typist]) => typist.name)
    .sort();
}

/** The offset to resume a room from after a reconnect, or undefined for a first join (latest messages). */
export function resumeOffset(room: RoomState): number | undefined {
  return room.lastOffset > 0 ? room.lastOffset : undefined;
}

/** The offset to page history back from, or undefined when nothing is loaded or the beginning is reached. */
export function olderPageBefore(room: RoomState): number | undefined {
  if (room.reachedBeginning || room.messages.length === 0) return undefined;
  const oldest = room.messages[0].offset;
  return oldest > 1 ? oldest : undefined;
}
