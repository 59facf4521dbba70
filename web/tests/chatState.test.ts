import assert from "node:assert/strict";
import { test } from "node:test";
import {
  initialState,
  mergeMessages,
  moderates,
  olderPageBefore,
  reduce,
  resumeOffset,
  roomTitle,
  typingNames,
  TYPING_MS,
  type ChatState,
} from "../src/chatState";
import type { ChatMessage, ServerEvent } from "../src/protocol";

function message(offset: number, from = "Bruno", room = "lobby", id = `m${offset}`): ChatMessage {
  return { room, offset, id, from, fromId: `guest:${from}`, text: `text ${offset}`, ts: "2026-11-26T10:00:00.000Z" };
}

function guest(name: string) {
  return { id: `guest:${name}`, name };
}

function joined(room: string, head: number, names: string[]): ServerEvent {
  return { type: "joined", room, head, members: names, users: names.map(guest) };
}

function apply(state: ChatState, ...events: ServerEvent[]): ChatState {
  return events.reduce((current, event) => reduce(current, { kind: "event", event, now: 1000 }), state);
}

function joinedLobby(name = "Ana"): ChatState {
  return apply(initialState(name, ["lobby"]), joined("lobby", 0, [name]));
}

test("messages are kept in offset order, each offset once", () => {
  const merged = mergeMessages([message(1), message(3)], [message(5), message(2), message(3), message(4)]);
  assert.deepEqual(merged.map((m) => m.offset), [1, 2, 3, 4, 5]);
  assert.deepEqual(mergeMessages([message(1)], [message(1)]).length, 1);
});

test("a replay after a reconnect that overlaps what is shown adds nothing twice", () => {
  let state = apply(joinedLobby(), ...[1, 2, 3].map((o) => ({ type: "message", ...message(o) }) as ServerEvent));
  state = reduce(state, { kind: "disconnected" });
  assert.equal(state.status, "reconnecting");
  assert.equal(resumeOffset(state.rooms.lobby), 3);
  state = apply(state, ...[2, 3, 4].map((o) => ({ type: "message", ...message(o) }) as ServerEvent));
  assert.deepEqual(state.rooms.lobby.messages.map((m) => m.offset), [1, 2, 3, 4]);
  assert.equal(state.rooms.lobby.lastOffset, 4);
});

test("a send is pending until its ack, then delivered once whichever of ack and message comes first", () => {
  for (const ackFirst of [true, false]) {
    let state = reduce(joinedLobby(), { kind: "queueSend", id: "c1", room: "lobby", text: "oi" });
    assert.deepEqual(state.pending.map((p) => p.id), ["c1"]);
    const ack: ServerEvent = { type: "ack", room: "lobby", id: "c1", offset: 7, ts: "2026-11-26T10:00:00.000Z" };
    const echo: ServerEvent = { type: "message", ...message(7, "Ana", "lobby", "c1"), text: "oi" };
    state = ackFirst ? apply(state, ack, echo) : apply(state, echo, ack);
    assert.deepEqual(state.pending, []);
    assert.deepEqual(state.rooms.lobby.messages.map((m) => [m.offset, m.from, m.text]), [[7, "Ana", "oi"]]);
  }
});

test("an error answering a send marks that message failed, and retry clears the failure", () => {
  let state = reduce(joinedLobby(), { kind: "queueSend", id: "c1", room: "lobby", text: "x" });
  state = apply(state, { type: "error", ref: "send:c1", code: "rate_limited", message: "too many commands; slow down" });
  assert.equal(state.pending[0].failure?.code, "rate_limited");
  state = reduce(state, { kind: "retry", id: "c1" });
  assert.equal(state.pending[0].failure, undefined);
  state = reduce(state, { kind: "discard", id: "c1" });
  assert.deepEqual(state.pending, []);
});

test("older history is prepended and the beginning is recognised", () => {
  let state = apply(joinedLobby(), ...[51, 52].map((o) => ({ type: "message", ...message(o) }) as ServerEvent));
  assert.equal(olderPageBefore(state.rooms.lobby), 51);
  state = apply(state, { type: "history", room: "lobby", messages: [2, 3].map((o) => message(o)) });
  assert.deepEqual(state.rooms.lobby.messages.map((m) => m.offset), [2, 3, 51, 52]);
  assert.equal(olderPageBefore(state.rooms.lobby), 2);
  state = apply(state, { type: "history", room: "lobby", messages: [message(1)] });
  assert.equal(olderPageBefore(state.rooms.lobby), undefined);
  assert.equal(state.rooms.lobby.reachedBeginning, true);
});

test("unread counts others' new messages in rooms not shown, not the replay of a first join", () => {
  let state = joinedLobby();
  state = reduce(state, { kind: "openRoom", room: "dev" });
  state = apply(state, joined("dev", 10, ["Ana", "Bruno"]));
  state = apply(state, ...[9, 10].map((o) => ({ type: "message", ...message(o, "Bruno", "dev") }) as ServerEvent));
  state = reduce(state, { kind: "openRoom", room: "lobby" });
  state = apply(
    state,
    { type: "message", ...message(11, "Bruno", "dev") },
    { type: "message", ...message(12, "Ana", "dev") },
    { type: "message", ...message(11, "Bruno", "dev") },
  );
  assert.equal(state.rooms.dev.unread, 1);
  state = reduce(state, { kind: "openRoom", room: "dev" });
  assert.equal(state.rooms.dev.unread, 0);
});

test("presence and typing", () => {
  let state = apply(joinedLobby(), { type: "presence", room: "lobby", event: "join", user: "Bruno", userId: "guest:Bruno" });
  assert.deepEqual(state.rooms.lobby.members, [guest("Ana"), guest("Bruno")]);
  state = reduce(state, { kind: "event", event: { type: "typing", room: "lobby", from: "Bruno", fromId: "guest:Bruno" }, now: 5000 });
  assert.deepEqual(typingNames(state.rooms.lobby, 5000 + TYPING_MS - 1, "guest:Ana"), ["Bruno"]);
  assert.deepEqual(typingNames(state.rooms.lobby, 5000 + TYPING_MS, "guest:Ana"), []);
  state = apply(state, { type: "message", ...message(1, "Bruno") });
  assert.deepEqual(typingNames(state.rooms.lobby, 5001, "guest:Ana"), []);
  state = apply(state, { type: "presence", room: "lobby", event: "leave", user: "Bruno", userId: "guest:Bruno" });
  assert.deepEqual(state.rooms.lobby.members, [guest("Ana")]);
});

test("people who share a display name are told apart by id: members, typing and one's own messages", () => {
  const ana = { id: "ana1", name: "Ana" };
  const otherAna = { id: "ana2", name: "Ana" };
  let state = apply(initialState("Ana", ["lobby"]), {
    type: "welcome",
    session: "s",
    user: { ...ana, guest: false },
    limits: { maxTextBytes: 1, maxFrameBytes: 1, commandsPerSecond: 1, commandBurst: 1, outboxBytes: 1, outboxFrames: 1, maxHistoryPage: 1, joinReplayCount: 1 },
  });
  state = apply(state, { type: "joined", room: "lobby", head: 0, members: ["Ana", "Ana"], users: [otherAna, ana] });
  assert.deepEqual(state.rooms.lobby.members, [ana, otherAna]);
  state = reduce(state, { kind: "event", event: { type: "typing", room: "lobby", from: "Ana", fromId: "ana2" }, now: 1 });
  assert.deepEqual(typingNames(state.rooms.lobby, 2, state.userId), ["Ana"]);
  state = reduce(state, { kind: "openRoom", room: "dev" });
  state = apply(state, { type: "message", ...message(1, "Ana", "lobby"), fromId: "ana2" }, { type: "message", ...message(2, "Ana", "lobby"), fromId: "ana1" });
  assert.equal(state.rooms.lobby.unread, 1);
});

test("closing a room forgets it and its pending messages", () => {
  let state = reduce(joinedLobby(), { kind: "openRoom", room: "dev" });
  state = reduce(state, { kind: "queueSend", id: "d1", room: "dev", text: "x" });
  state = reduce(state, { kind: "closeRoom", room: "dev" });
  assert.deepEqual(state.roomOrder, ["lobby"]);
  assert.equal(state.current, "lobby");
  assert.deepEqual(state.pending, []);
});

test("a deletion turns its message into a placeholder and moves the resume offset past its own entry", () => {
  let state = apply(joinedLobby(), { type: "message", ...message(1) }, { type: "message", ...message(2) });
  state = apply(state, { type: "deleted", room: "lobby", offset: 3, target: 1, by: "guest:Bruno" });
  assert.deepEqual(
    state.rooms.lobby.messages.map((m) => [m.offset, m.text, m.deleted ?? false]),
    [
      [1, "", true],
      [2, "text 2", false],
    ],
  );
  assert.equal(resumeOffset(state.rooms.lobby), 3);
});

test("removed from a room: the room and its unsent messages go, and the screen says why", () => {
  let state = reduce(joinedLobby(), { kind: "openRoom", room: "dev" });
  state = reduce(state, { kind: "queueSend", id: "d1", room: "dev", text: "x" });
  state = apply(state, { type: "removed", room: "dev", reason: "banned" });
  assert.deepEqual(state.roomOrder, ["lobby"]);
  assert.deepEqual(state.pending, []);
  assert.deepEqual(state.notice, { kind: "removed", room: "dev", reason: "banned" });
  assert.equal(reduce(state, { kind: "dismissNotice" }).notice, null);
});

test("a join refused as forbidden closes the room; other failures keep it", () => {
  let state = reduce(joinedLobby(), { kind: "openRoom", room: "secret" });
  state = apply(state, { type: "error", ref: "join:secret", code: "internal", message: "" });
  assert.ok(state.rooms.secret);
  state = apply(state, { type: "error", ref: "join:secret", code: "forbidden", message: "" });
  assert.equal(state.rooms.secret, undefined);
  assert.deepEqual(state.notice, { kind: "refused", room: "secret", code: "forbidden" });
});

test("a direct message's joined opens its room, titled by the other person; roles come from the rooms reply", () => {
  const bea = { id: "bea", name: "Bea" };
  let state = apply(joinedLobby(), {
    type: "joined",
    ref: "dm",
    room: "dm-0123",
    head: 0,
    members: ["Ana"],
    users: [guest("Ana")],
    kind: "dm",
    visibility: "private",
    peer: bea,
  });
  assert.equal(state.current, "dm-0123");
  assert.equal(roomTitle(state.rooms["dm-0123"]), "@Bea");
  assert.equal(roomTitle(state.rooms.lobby), "#lobby");
  assert.equal(moderates(state, "lobby"), false);
  state = apply(state, {
    type: "rooms",
    rooms: [{ room: "lobby", kind: "room", visibility: "public", head: 0, members: 2, role: "moderator" }],
  });
  assert.equal(moderates(state, "lobby"), true);
});

test("a large room keeps its count and the pages of people loaded; back under the limit its list is whole again", () => {
  let state = apply(initialState("Ana", ["hall"]), {
    type: "welcome",
    session: "s",
    user: { id: "guest:Ana", name: "Ana", guest: true },
    limits: { maxTextBytes: 1, maxFrameBytes: 1, commandsPerSecond: 1, commandBurst: 1, outboxBytes: 1, outboxFrames: 1, maxHistoryPage: 1, joinReplayCount: 1, presenceListLimit: 2 },
  });
  state = apply(state, { type: "joined", room: "hall", head: 0, members: ["Ana", "Bea"], users: [guest("Ana"), guest("Bea")], memberCount: 3 });
  assert.equal(state.rooms.hall.memberCount, 3);
  state = apply(state, { type: "members", ref: "members-first:hall", room: "hall", users: [guest("Ana"), guest("Bea")], next: "guest:Bea" });
  state = apply(state, { type: "members", ref: "members-more:hall", room: "hall", users: [guest("Cid")], next: null });
  assert.deepEqual(state.rooms.hall.memberPages, { users: [guest("Ana"), guest("Bea"), guest("Cid")], next: null });
  state = apply(state, { type: "presence", room: "hall", count: 9 });
  assert.equal(state.rooms.hall.memberCount, 9);
  state = apply(state, { type: "presence", room: "hall", count: 2 });
  assert.equal(state.rooms.hall.memberCount, undefined);
  state = apply(state, { type: "members", ref: "members-refresh:hall", room: "hall", users: [guest("Cid"), guest("Ana")], next: null });
  assert.deepEqual(state.rooms.hall.members, [guest("Ana"), guest("Cid")]);
  assert.equal(state.rooms.hall.memberPages, undefined);
});
