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

/** What a request to the API came to: Parley's answer, its refusal (a JSON error), or nothing from Parley — the
 * network failed, or a proxy answered with its own error page because the server is gone. */
export type Answer =
  | { kind: "answered"; body: any }
  | { kind: "refused"; status: number; code: string; message: string; retryAfter?: number }
  | { kind: "lost" };

/** Makes a request to `/api/v1/PATH` (the path may carry a query) with the page's cookie and a JSON body, if any. */
export async function callAPI(
  method: string,
  path: string,
  body?: unknown,
  fetcher: (url: string, init: RequestInit) => Promise<Response> = (url, init) => fetch(url, init),
): Promise<Answer> {
  let response: Response;
  try {
    response = await fetcher(`/api/v1/${path}`, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { kind: "lost" };
  }
  return answerOf(response);
}

/** What a response says: its JSON body, Parley's JSON error, or — for anything else — nothing from Parley. */
export async function answerOf(response: Response): Promise<Answer> {
  if (response.status === 204) return { kind: "answered", body: null };
  const json = await response.json().catch(() => null);
  if (response.ok && json !== null) return { kind: "answered", body: json };
  const error = json?.error;
  if (!error || typeof error.code !== "string") return { kind: "lost" };
  const retryAfter = Number(response.headers.get("Retry-After") ?? "");
  return {
    kind: "refused",
    status: response.status,
    code: error.code,
    message: String(error.message ?? ""),
    retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  };
}

async function request<T>(method: string, path: string, body?: unknown): Promise<Outcome<T>> {
  const answer = await callAPI(method, path, body);
  switch (answer.kind) {
    case "answered":
      return { ok: true, value: answer.body as T };
    case "refused":
      return { ok: false, code: answer.code, message: answer.message, retryAfter: answer.retryAfter };
    case "lost":
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
