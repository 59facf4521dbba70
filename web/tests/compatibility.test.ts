import assert from "node:assert/strict";
import { test } from "node:test";
import { FallbackConnection, UPGRADE_TIMEOUT_MS, type ConnectionCallbacks, type ConnectionEnvironment, type Transport } from "../src/connection";
import { EventStreamParser } from "../src/eventStream";
import { HttpChatConnection, type HttpEnvironment } from "../src/httpConnection";
import type { ServerEvent } from "../src/protocol";

test("the event stream parser splits events across chunks and drops comments, ids and retries", () => {
  const parser = new EventStreamParser();
  assert.deepEqual(parser.push("retry: 1000\n\n: ping\n\nid: lobby:1\nevent: mess"), []);
  assert.deepEqual(parser.push('age\ndata: {"a":1}\n'), []);
  assert.deepEqual(parser.push("\nevent: close\r\ndata: x\r\ndata:y\r\n\r\ndata: plain\n\n"), [
    { type: "message", data: '{"a":1}' },
    { type: "close", data: "x\ny" },
    { type: "message", data: "plain" },
  ]);
});

class FakeSocket {
  readyState = 0;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  send() {}
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.(); }
  drop() { this.readyState = 3; this.onclose?.({ code: 1006 }); }
}

function fallbackHarness(startWithFallback = false) {
  const sockets: FakeSocket[] = [];
  const timers: { callback: () => void; ms: number; cleared: boolean }[] = [];
  const log: string[] = [];
  const environment: ConnectionEnvironment = {
    createSocket: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket as unknown as WebSocket;
    },
    random: () => 0.5,
    setTimeout: (callback, ms) => {
      const timer = { callback, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (handle) => {
      (handle as { cleared: boolean }).cleared = true;
    },
  };
  const fallback: Transport = { start: () => log.push("http start"), stop: () => log.push("http stop"), markHealthy() {}, send: () => true };
  const connection = new FallbackConnection(
    "ws://example/ws",
    { onOpen: () => log.push("open"), onEvent() {}, onDisconnect: () => log.push("disconnect") },
    { startWithFallback, createFallback: () => fallback, onFallback: () => log.push("fallback") },
    environment,
  );
  const fire = (ms: number) => {
    const timer = timers.find((t) => t.ms === ms && !t.cleared)!;
    timer.cleared = true;
    timer.callback();
  };
  return { connection, sockets, timers, log, fire };
}

test("a WebSocket that fails to open twice in a row gives way to plain HTTP", () => {
  const h = fallbackHarness();
  h.connection.start();
  h.sockets[0].drop();
  assert.deepEqual(h.log, ["disconnect"]);
  h.fire(250);
  h.sockets[1].drop();
  assert.deepEqual(h.log, ["disconnect", "fallback", "http start"]);
  assert.ok(h.timers.every((timer) => timer.cleared || timer.ms !== UPGRADE_TIMEOUT_MS));
});

test("a WebSocket not open within the upgrade timeout gives way to plain HTTP", () => {
  const h = fallbackHarness();
  h.connection.start();
  h.fire(UPGRADE_TIMEOUT_MS);
  assert.deepEqual(h.log, ["fallback", "http start"]);
  assert.equal(h.sockets[0].readyState, 3);
});

test("once a WebSocket opened, failures are the network's: it keeps reconnecting", () => {
  const h = fallbackHarness();
  h.connection.start();
  h.sockets[0].open();
  assert.ok(h.timers.find((timer) => timer.ms === UPGRADE_TIMEOUT_MS)!.cleared);
  h.sockets[0].drop();
  h.fire(250);
  h.sockets[1].drop();
  assert.deepEqual(h.log, ["open", "disconnect", "disconnect"]);
});

test("a page that found WebSockets blocked starts over plain HTTP", () => {
  const h = fallbackHarness(true);
  h.connection.start();
  assert.deepEqual(h.log, ["http start"]);
  assert.equal(h.sockets.length, 0);
});

/** A scripted server for HttpChatConnection: each request is recorded and answered by `answer` (at once, or when
 * the promise it returns settles). */
function httpHarness(asGuest: boolean, answer: (method: string, url: string, body: any) => Response | Promise<Response> | "lost") {
  const requests: { method: string; url: string; body: any }[] = [];
  const events: ServerEvent[] = [];
  const disconnects: number[] = [];
  const streams: { url: string; push(text: string): void; end(): void; signal: AbortSignal }[] = [];
  const encoder = new TextEncoder();
  const environment: HttpEnvironment = {
    fetch: async (url, init) => {
      const method = init.method ?? "GET";
      const body = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
      requests.push({ method, url, body });
      if (url.startsWith("/api/v1/events?")) {
        const scripted = await answer(method, url, body);
        if (scripted !== "lost" && scripted.status !== 200) return scripted;
        let controller!: ReadableStreamDefaultController<Uint8Array>;
        const stream = new ReadableStream<Uint8Array>({ start: (c) => (controller = c) });
        streams.push({ url, push: (text) => controller.enqueue(encoder.encode(text)), end: () => controller.close(), signal: init.signal! });
        return new Response(stream, { status: 200, headers: { "Content-Type": "text/event-stream" } });
      }
      const scripted = answer(method, url, body);
      if (scripted === "lost") throw new TypeError("network");
      return scripted;
    },
    random: () => 0.5,
    setTimeout: (callback) => {
      queueMicrotask(callback);
      return null;
    },
    clearTimeout() {},
  };
  let opened = 0;
  const callbacks: ConnectionCallbacks = {
    onOpen: () => (opened += 1),
    onEvent: (event) => events.push(event),
    onDisconnect: (_, code) => disconnects.push(code),
  };
  const connection = new HttpChatConnection(callbacks, asGuest, environment);
  return { connection, requests, events, disconnects, streams, opened: () => opened };
}

const last = <T>(items: T[]): T => items[items.length - 1];
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const welcomeBody = { user: { id: "guest:Ana", name: "Ana", guest: true }, limits: { maxTextBytes: 16384 } };

test("over HTTP a guest says hello with ?guest=, follows its rooms in one stream and resumes them where they were", async () => {
  const h = httpHarness(true, (method, url) => {
    if (url.startsWith("/api/v1/me")) return json(200, welcomeBody);
    if (url.startsWith("/api/v1/rooms/lobby/messages") && method === "POST") return json(201, { room: "lobby", id: "m1", offset: 8, ts: "t" });
    return json(200, {});
  });
  h.connection.start();
  await settle();
  assert.equal(h.opened(), 1);
  h.connection.send({ type: "hello", name: "  Ana", ref: "hello" });
  await settle();
  assert.equal(h.requests[0].url, "/api/v1/me?guest=%20%20Ana");
  assert.deepEqual(h.events[0], { type: "welcome", ref: "hello", session: "http", ...welcomeBody, expiresAt: undefined });
  h.connection.send({ type: "join", room: "lobby", since: 3, ref: "join:lobby" });
  h.connection.send({ type: "join", room: "general", ref: "join:general" });
  await settle();
  // One stream for both joins, each room from where it was, as the guest the server welcomed.
  assert.equal(h.streams.length, 1);
  assert.equal(h.streams[0].url, "/api/v1/events?rooms=lobby%3A3%2Cgeneral&guest=Ana");
  h.streams[0].push('event: joined\ndata: {"type":"joined","room":"lobby","head":7,"members":[],"users":[]}\n\n');
  h.streams[0].push('event: welcome\ndata: {"type":"welcome"}\n\nid: c\nevent: message\ndata: {"type":"message","room":"lobby","offset":7}\n\n');
  await settle();
  assert.deepEqual(
    h.events.slice(1).map((event) => [event.type, "ref" in event ? event.ref : undefined]),
    [["joined", "join:lobby"], ["message", undefined]],
  );
  h.connection.send({ type: "send", room: "lobby", text: "oi", id: "m1", ref: "send:m1" });
  await settle();
  assert.deepEqual(last(h.requests), { method: "POST", url: "/api/v1/rooms/lobby/messages?guest=Ana", body: { text: "oi", id: "m1" } });
  assert.deepEqual(last(h.events), { type: "ack", ref: "send:m1", room: "lobby", id: "m1", offset: 8, ts: "t" });
  // Leaving one room follows the others again, each after what it delivered.
  h.connection.send({ type: "leave", room: "general" });
  await settle();
  assert.ok(h.streams[0].signal.aborted);
  assert.equal(h.streams[1].url, "/api/v1/events?rooms=lobby%3A7&guest=Ana");
});

test("over HTTP commands sent before the hello is answered wait for it and go as the guest it welcomed", async () => {
  let answerHello!: () => void;
  const h = httpHarness(true, (method, url) => {
    if (url.startsWith("/api/v1/me")) return new Promise((resolve) => (answerHello = () => resolve(json(200, welcomeBody))));
    if (method === "POST" && url.includes("/messages")) return json(201, { room: "lobby", id: "m1", offset: 1, ts: "t" });
    return new Response(null, { status: 204 });
  });
  h.connection.start();
  await settle();
  h.connection.send({ type: "hello", name: "Ana", ref: "hello" });
  // A reconnect's hello is slow (a node just died): meanwhile the page types and sends.
  h.connection.send({ type: "typing", room: "lobby" });
  h.connection.send({ type: "send", room: "lobby", text: "oi", id: "m1", ref: "send:m1" });
  await settle();
  assert.deepEqual(h.requests.map((request) => request.url), ["/api/v1/me?guest=Ana"]);
  answerHello();
  await settle();
  assert.deepEqual(h.requests.slice(1).map((request) => `${request.method} ${request.url}`), [
    "POST /api/v1/rooms/lobby/typing?guest=Ana",
    "POST /api/v1/rooms/lobby/messages?guest=Ana",
  ]);
  assert.deepEqual(h.events.map((event) => event.type), ["welcome", "ack"]);
  assert.deepEqual(h.disconnects, []);
});

test("over HTTP a refused hello refuses what waited for it, as a WebSocket's server would, and the next hello is waited for", async () => {
  let answerHello!: () => void;
  const h = httpHarness(true, (method, url) => {
    if (url.startsWith("/api/v1/me?guest=%20")) {
      return new Promise((resolve) => (answerHello = () => resolve(json(400, { error: { code: "invalid_name", message: "bad name" } }))));
    }
    if (url.startsWith("/api/v1/me")) return json(200, welcomeBody);
    if (method === "POST" && url.includes("/messages")) return json(201, { room: "lobby", id: "m2", offset: 1, ts: "t" });
    return new Response(null, { status: 204 });
  });
  h.connection.start();
  await settle();
  h.connection.send({ type: "hello", name: " ", ref: "hello" });
  h.connection.send({ type: "send", room: "lobby", text: "early", id: "m1", ref: "send:m1" });
  await settle();
  answerHello();
  await settle();
  assert.deepEqual(h.events, [
    { type: "error", ref: "hello", code: "invalid_name", message: "bad name" },
    { type: "error", ref: "send:m1", code: "hello_required", message: "send hello first" },
  ]);
  h.connection.send({ type: "send", room: "lobby", text: "waits", id: "m2", ref: "send:m2" });
  h.connection.send({ type: "hello", name: "Ana", ref: "hello2" });
  await settle();
  assert.deepEqual(h.requests.map((request) => `${request.method} ${request.url}`), [
    "GET /api/v1/me?guest=%20",
    "GET /api/v1/me?guest=Ana",
    "POST /api/v1/rooms/lobby/messages?guest=Ana",
  ]);
  assert.deepEqual(h.events.slice(2).map((event) => event.type), ["welcome", "ack"]);
  assert.deepEqual(h.disconnects, []);
});

test("over HTTP a lost server is a disconnect, a refused credential a 4001, and a closed stream its close code", async () => {
  let serverUp = true;
  let session = true;
  const h = httpHarness(false, (_, url) => {
    if (!serverUp) return new Response("<html>502 Bad Gateway</html>", { status: 502 });
    if (!session) return json(401, { error: { code: "unauthorized", message: "signed out" } });
    if (url.startsWith("/api/v1/me")) return json(200, { ...welcomeBody, user: { id: "ana", name: "Ana", guest: false } });
    return json(200, {});
  });
  h.connection.start();
  await settle();
  h.connection.send({ type: "hello", name: "Ana", ref: "hello" });
  h.connection.send({ type: "join", room: "lobby", ref: "join:lobby" });
  await settle();
  assert.equal(h.requests[0].url, "/api/v1/me");
  h.streams[0].push('event: close\ndata: {"code":4008,"reason":"slow"}\n\n');
  await settle();
  assert.deepEqual(h.disconnects, [4008]);
  // It reconnects by itself: the client says hello again.
  assert.equal(h.opened(), 2);
  h.connection.send({ type: "hello", name: "Ana", ref: "hello" });
  await settle();
  assert.equal(h.connection.send({ type: "ping", ref: "p" }), true);
  serverUp = false;
  h.connection.send({ type: "rooms" });
  await settle();
  assert.deepEqual(h.disconnects, [4008, 1006]);
  serverUp = true;
  session = false;
  h.connection.send({ type: "hello", name: "Ana", ref: "hello" });
  await settle();
  assert.deepEqual(h.disconnects, [4008, 1006, 4001]);
  h.connection.stop();
  assert.equal(h.connection.send({ type: "ping" }), false);
});

test("over HTTP a room the stream may no longer open is refused as its join, and the others are followed", async () => {
  const h = httpHarness(true, (_, url) => {
    if (url.startsWith("/api/v1/me")) return json(200, welcomeBody);
    if (url.startsWith("/api/v1/events?rooms=lobby%2Cplans")) return json(403, { error: { code: "forbidden", message: "no" } });
    if (url.startsWith("/api/v1/rooms/plans/")) return json(403, { error: { code: "forbidden", message: "private" } });
    return json(200, { room: "lobby", messages: [] });
  });
  h.connection.start();
  await settle();
  h.connection.send({ type: "hello", name: "Ana", ref: "hello" });
  await settle();
  h.connection.send({ type: "join", room: "lobby", ref: "join:lobby" });
  h.connection.send({ type: "join", room: "plans", ref: "join:plans" });
  await settle();
  assert.deepEqual(last(h.events), { type: "error", ref: "join:plans", code: "forbidden", message: "private" });
  assert.equal(last(h.streams)!.url, "/api/v1/events?rooms=lobby&guest=Ana");
  assert.deepEqual(h.disconnects, []);
});

test("over HTTP a stream the server cannot open now (no database, too busy) is tried again after a backoff", async () => {
  const h = httpHarness(true, (_, url) => {
    if (url.startsWith("/api/v1/me")) return json(200, welcomeBody);
    return json(503, { error: { code: "internal", message: "the database is down" } });
  });
  h.connection.start();
  await settle();
  h.connection.send({ type: "hello", name: "Ana", ref: "hello" });
  await settle();
  h.connection.send({ type: "join", room: "lobby", ref: "join:lobby" });
  await settle();
  assert.equal(h.disconnects[0], 1006);
  assert.ok(h.opened() >= 2);
});

test("over HTTP posts go one at a time, in the order written", async () => {
  const answers: ((response: Response) => void)[] = [];
  const h = httpHarness(true, (method, url) => {
    if (method === "POST") return new Promise<Response>((resolve) => answers.push(resolve));
    return url.startsWith("/api/v1/me") ? json(200, welcomeBody) : json(200, {});
  });
  h.connection.start();
  await settle();
  h.connection.send({ type: "hello", name: "Ana", ref: "hello" });
  await settle();
  h.connection.send({ type: "send", room: "lobby", text: "one", id: "1", ref: "send:1" });
  h.connection.send({ type: "send", room: "lobby", text: "two", id: "2", ref: "send:2" });
  await settle();
  assert.equal(answers.length, 1);
  answers[0](json(201, { room: "lobby", id: "1", offset: 1, ts: "t" }));
  await settle();
  assert.equal(answers.length, 2);
  answers[1](json(201, { room: "lobby", id: "2", offset: 2, ts: "t" }));
  await settle();
  assert.deepEqual(
    h.events.filter((event) => event.type === "ack").map((event) => (event as { id: string }).id),
    ["1", "2"],
  );
});
