// The account API (/api/v1): signing in and out. The session lives in an HttpOnly cookie the server sets; this
// client never sees or stores the token.

import type { User } from "./protocol";

/** What the server allows: guests, and creating accounts. */
export interface AuthSettings {
  guests: boolean;
  registration: "open" | "closed";
}

/** The outcome of a call: the value, or the server's error code and message (and, for 429, seconds to wait). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string; retryAfter?: number };

async function request<T>(method: string, path: string, body?: unknown): Promise<Outcome<T>> {
  try {
    const response = await fetch(`/api/v1/${path}`, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return { ok: true, value: undefined as T };
    const json = await response.json().catch(() => ({}));
    if (response.ok) return { ok: true, value: json as T };
    const retryAfter = Number(response.headers.get("Retry-After") ?? "");
    return {
      ok: false,
      code: json?.error?.code ?? "internal",
      message: json?.error?.message ?? "",
      retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    };
  } catch {
    return { ok: false, code: "offline", message: "" };
  }
}

export const api = {
  settings: () => request<AuthSettings>("GET", "auth"),
  me: () => request<{ user: User; expiresAt?: string }>("GET", "me"),
  login: (user: string, password: string) => request<{ user: User; expiresAt: string }>("POST", "login", { user, password }),
  register: (user: string, password: string, name: string | undefined) =>
    request<{ user: User }>("POST", "accounts", name ? { user, password, name } : { user, password }),
  logout: () => request<void>("POST", "logout"),
};
