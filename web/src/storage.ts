// What survives a reload: the display name, the open rooms, the room last shown, and unsent messages.

import type { PendingMessage } from "./chatState";

export interface Saved {
  name: string | null;
  rooms: string[];
  current: string | null;
  pending: PendingMessage[];
}

const key = "parley.v1.client";

export function load(storage: Storage): Saved {
  try {
    const value = (JSON.parse(storage.getItem(key) ?? "null") ?? {}) as Partial<Saved>;
    return {
      name: typeof value.name === "string" ? value.name : null,
      rooms: Array.isArray(value.rooms) ? value.rooms.filter((room) => typeof room === "string") : [],
      current: typeof value.current === "string" ? value.current : null,
      pending: Array.isArray(value.pending) ? value.pending : [],
    };
  } catch {
    return { name: null, rooms: [], current: null, pending: [] };
  }
}

export function save(storage: Storage, saved: Saved): void {
  try {
    storage.setItem(key, JSON.stringify(saved));
  } catch {
    // Storage full or disabled: the chat still works, it just forgets on reload.
  }
}
