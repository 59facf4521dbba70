// parley.v1 wire types, mirroring Sources/ParleyProtocol. One JSON object per WebSocket text frame.

export const SUBPROTOCOL = "parley.v1";

export type ErrorCode =
  | "bad_request"
  | "unknown_type"
  | "hello_required"
  | "not_joined"
  | "invalid_room"
  | "invalid_name"
  | "name_taken"
  | "too_large"
  | "rate_limited"
  | "unauthorized"
  | "forbidden"
  | "room_exists"
  | "no_such_user"
  | "not_member"
  | "internal";

/** Close codes with a meaning in parley.v1. */
export const CloseCode = {
  goingAway: 1001,
  invalidUTF8: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  unauthorized: 4001,
  bannedFromServer: 4003,
  slowConsumer: 4008,
} as const;

export interface Limits {
  maxTextBytes: number;
  maxFrameBytes: number;
  commandsPerSecond: number;
  commandBurst: number;
  outboxBytes: number;
  outboxFrames: number;
  maxHistoryPage: number;
  joinReplayCount: number;
  maxJoinedRooms?: number;
  presenceListLimit?: number;
}

/** Who a connection speaks for: `welcome.user`. Guests' ids are `guest:` and their name. */
export interface User {
  id: string;
  name: string;
  guest: boolean;
}

/** A user as member lists name them. */
export interface UserRef {
  id: string;
  name: string;
}

/** A stored chat message, as in `message` events and `history` pages. A deleted one has an empty text. */
export interface ChatMessage {
  room: string;
  offset: number;
  id: string;
  from: string;
  fromId: string;
  text: string;
  ts: string;
  deleted?: boolean;
}

export type RoomKind = "room" | "dm";
export type RoomVisibility = "public" | "private";
export type RoomRole = "owner" | "moderator" | "member";

/** One room of the `rooms` reply: a room the user is a member of, or a public one. */
export interface RoomSummary {
  room: string;
  kind: RoomKind;
  visibility: RoomVisibility;
  head: number;
  members: number;
  role?: RoomRole;
  peer?: UserRef;
}

export type ClientCommand =
  | { type: "hello"; name: string; token?: string; ref?: string }
  | { type: "join"; room: string; since?: number; ref?: string }
  | { type: "send"; room: string; text: string; id: string; ref?: string }
  | { type: "history"; room: string; before?: number; limit?: number; ref?: string }
  | { type: "typing"; room: string; ref?: string }
  | { type: "leave"; room: string; ref?: string }
  | { type: "ping"; ref?: string }
  | { type: "refresh"; token: string; ref?: string }
  | { type: "create"; room: string; visibility: RoomVisibility; ref?: string }
  | { type: "dm"; user: string; ref?: string }
  | { type: "rooms"; ref?: string }
  | { type: "invite" | "kick" | "ban" | "unban"; room: string; user: string; ref?: string }
  | { type: "role"; room: string; user: string; role: "moderator" | "member"; ref?: string }
  | { type: "delete"; room: string; offset: number; ref?: string }
  | { type: "members"; room: string; after?: string; limit?: number; ref?: string };

export type ServerEvent =
  | { type: "welcome"; ref?: string; session: string; user: User; limits: Limits; expiresAt?: string }
  | {
      type: "joined";
      ref?: string;
      room: string;
      head: number;
      members: string[];
      users: UserRef[];
      kind?: RoomKind;
      visibility?: RoomVisibility;
      peer?: UserRef;
      memberCount?: number;
    }
  | ({ type: "message" } & ChatMessage)
  | { type: "ack"; ref?: string; room: string; id: string; offset: number; ts: string }
  | { type: "history"; ref?: string; room: string; messages: ChatMessage[] }
  | { type: "typing"; room: string; from: string; fromId: string }
  | { type: "presence"; room: string; event: "join" | "leave"; user: string; userId: string }
  | { type: "presence"; room: string; count: number }
  | { type: "members"; ref?: string; room: string; users: UserRef[]; next: string | null }
  | { type: "left"; ref?: string; room: string }
  | { type: "pong"; ref?: string }
  | { type: "refreshed"; ref?: string; expiresAt?: string }
  | { type: "error"; ref?: string; code: ErrorCode; message: string }
  | { type: "created"; ref?: string; room: string; visibility: RoomVisibility }
  | { type: "rooms"; ref?: string; rooms: RoomSummary[] }
  | { type: "invited"; room: string; by: string }
  | { type: "removed"; room: string; reason: "kicked" | "banned" }
  | { type: "done"; ref?: string }
  | { type: "deleted"; room: string; offset: number; target: number; by: string };

const eventTypes = new Set([
  "welcome",
  "joined",
  "message",
  "ack",
  "history",
  "typing",
  "presence",
  "left",
  "pong",
  "refreshed",
  "error",
  "created",
  "rooms",
  "invited",
  "removed",
  "done",
  "deleted",
  "members",
]);

/** Parses one text frame from the server; `null` for anything that is not a parley.v1 event. */
export function parseEvent(text: string): ServerEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const type = (value as { type?: unknown }).type;
  return typeof type === "string" && eventTypes.has(type) ? (value as ServerEvent) : null;
}

/** Encodes a command as one text frame. */
export function encodeCommand(command: ClientCommand): string {
  return JSON.stringify(command);
}

/** Room names: 1–64 of A-Z a-z 0-9 - _ . */
export function isValidRoomName(name: string): boolean {
  return /^[A-Za-z0-9._-]{1,64}$/.test(name);
}

/** Display names: 1–32 characters in at most 128 UTF-8 bytes, not only spaces, no control characters (the server
 * checks the rest and answers with the name as it enforced it). */
export function isPlausibleDisplayName(name: string): boolean {
  const characters = Array.from(new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(name));
  return (
    characters.length >= 1 &&
    characters.length <= 32 &&
    new TextEncoder().encode(name).length <= 128 &&
    name.trim().length > 0 &&
    !/[\u0000-\u001f\u007f]/.test(name)
  );
}
