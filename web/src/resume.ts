// What to send once the server has welcomed a (re)connection: rejoin every room from where it left off, then
// resend every unacknowledged message with its original id (the server stores each id once).

import { resumeOffset, sendRef, type ChatState } from "./chatState";
import type { ClientCommand } from "./protocol";

export function resumeCommands(state: ChatState): ClientCommand[] {
  const commands: ClientCommand[] = [];
  for (const name of state.roomOrder) {
    const room = state.rooms[name];
    const since = resumeOffset(room);
    commands.push(since === undefined ? { type: "join", room: name } : { type: "join", room: name, since });
  }
  for (const pending of state.pending) {
    if (pending.failure === undefined) commands.push(sendCommand(pending));
  }
  return commands;
}

export function sendCommand(pending: { id: string; room: string; text: string }): ClientCommand {
  return { type: "send", room: pending.room, text: pending.text, id: pending.id, ref: sendRef(pending.id) };
}

/** A fresh client message id; works outside secure contexts, unlike crypto.randomUUID. */
export function newMessageId(random: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes)): string {
  const bytes = random(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
