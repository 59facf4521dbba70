// What to send once the server has welcomed a (re)connection: rejoin every room from where it left off; once a
// room is joined, resend its unacknowledged messages with their original ids (the server stores each id once).

import { joinRef, resumeOffset, sendRef, type ChatState } from "./chatState";
import type { ClientCommand } from "./protocol";

/** The joins that resume every open room, in the order they were opened. */
export function rejoinCommands(state: ChatState): ClientCommand[] {
  return state.roomOrder.map((name) => {
    const since = resumeOffset(state.rooms[name]);
    const ref = joinRef(name);
    return since === undefined ? { type: "join", room: name, ref } : { type: "join", room: name, since, ref };
  });
}

/** The sends to repeat once `room` is joined: its pending messages that have not failed, oldest first. */
export function pendingSends(state: ChatState, room: string): ClientCommand[] {
  return state.pending.filter((pending) => pending.room === room && pending.failure === undefined).map(sendCommand);
}

export function sendCommand(pending: { id: string; room: string; text: string }): ClientCommand {
  return { type: "send", room: pending.room, text: pending.text, id: pending.id, ref: sendRef(pending.id) };
}

/** A fresh client message id; works outside secure contexts, unlike crypto.randomUUID. */
export function newMessageId(random: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes)): string {
  const bytes = random(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
