import assert from "node:assert/strict";
import { test } from "node:test";
import { initialState, reduce } from "../src/chatState";
import { newMessageId, pendingSends, rejoinCommands } from "../src/resume";

test("after a reconnect every room is rejoined from its last offset; once joined its pending sends go again", () => {
  let state = initialState("Ana", ["lobby", "dev"]);
  state = reduce(state, { kind: "event", event: { type: "message", room: "lobby", offset: 41, id: "x", from: "Bruno", fromId: "guest:Bruno", text: "t", ts: "z" }, now: 0 });
  state = reduce(state, { kind: "queueSend", id: "p1", room: "lobby", text: "first" });
  state = reduce(state, { kind: "queueSend", id: "p2", room: "dev", text: "second" });
  state = reduce(state, { kind: "queueSend", id: "p3", room: "dev", text: "too big" });
  state = reduce(state, { kind: "event", event: { type: "error", ref: "send:p3", code: "too_large", message: "" }, now: 0 });
  assert.deepEqual(rejoinCommands(state), [
    { type: "join", room: "lobby", since: 41, ref: "join:lobby" },
    { type: "join", room: "dev", ref: "join:dev" },
  ]);
  assert.deepEqual(pendingSends(state, "lobby"), [{ type: "send", room: "lobby", text: "first", id: "p1", ref: "send:p1" }]);
  assert.deepEqual(pendingSends(state, "dev"), [{ type: "send", room: "dev", text: "second", id: "p2", ref: "send:p2" }]);
});

test("message ids are 32 hex digits and differ", () => {
  const ids = new Set(Array.from({ length: 100 }, () => newMessageId()));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.ok(/^[0-9a-f]{32}$/.test(id), id);
});
