import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "../src/backoff";
import { ChatConnection, type ConnectionEnvironment } from "../src/connection";
import { chooseLanguage } from "../src/i18n";
import { parseEvent, type ServerEvent } from "../src/protocol";

class FakeSocket {
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(readonly url: string, readonly protocol: string) {}
  send(text: string) { this.sent.push(text); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.(); }
  drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
}

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: { callback: () => void; ms: number }[] = [];
  const events: ServerEvent[] = [];
  const disconnects: number[] = [];
  const environment: ConnectionEnvironment = {
    createSocket: (url, protocol) => {
      const socket = new FakeSocket(url, protocol);
      sockets.push(socket);
      return socket as unknown as WebSocket;
    },
    random: () => 0.5,
    setTimeout: (callback, ms) => timers.push({ callback, ms }),
    clearTimeout: () => {},
  };
  let opened = 0;
  const connection = new ChatConnection(
    "ws://example/ws",
    { onOpen: () => (opened += 1), onEvent: (event) => events.push(event), onDisconnect: (delay) => disconnects.push(delay) },
    environment,
  );
  return { connection, sockets, timers, events, disconnects, opened: () => opened };
}

test("it offers parley.v1, passes events on and ignores what is not parley.v1", () => {
  const h = harness();
  h.connection.start();
  assert.equal(h.sockets[0].protocol, "parley.v1");
  h.sockets[0].open();
  assert.equal(h.opened(), 1);
  assert.equal(h.connection.send({ type: "ping", ref: "1" }), true);
  assert.deepEqual(h.sockets[0].sent, ['{"type":"ping","ref":"1"}']);
  h.sockets[0].onmessage?.({ data: '{"type":"pong","ref":"1"}' });
  h.sockets[0].onmessage?.({ data: "Mensagem recebida: x" });
  h.sockets[0].onmessage?.({ data: '{"type":"surprise"}' });
  assert.deepEqual(h.events, [{ type: "pong", ref: "1" }]);
});

test("it reconnects with growing, jittered delays, and starts over once healthy", () => {
  const h = harness();
  h.connection.start();
  h.sockets[0].drop();
  h.timers.shift()!.callback();
  h.sockets[1].drop();
  h.timers.shift()!.callback();
  h.sockets[2].open();
  h.connection.markHealthy();
  h.sockets[2].drop(1001);
  assert.deepEqual(h.disconnects, [250, 500, 250]);
  assert.equal(h.connection.send({ type: "ping" }), false);
});

test("stop prevents any reconnect", () => {
  const h = harness();
  h.connection.start();
  h.sockets[0].open();
  h.connection.stop();
  h.sockets[0].drop();
  assert.equal(h.timers.length, 0);
});

test("backoff uses full jitter below a capped exponential ceiling", () => {
  assert.equal(backoffDelay(0, () => 0.999, 500, 15_000), 499);
  assert.equal(backoffDelay(3, () => 0.5, 500, 15_000), 2000);
  assert.equal(backoffDelay(20, () => 0.999, 500, 15_000), 14_985);
  assert.equal(backoffDelay(5, () => 0, 500, 15_000), 0);
});

test("language follows the browser's preferences", () => {
  assert.equal(chooseLanguage(["pt-BR", "en"]), "pt-BR");
  assert.equal(chooseLanguage(["pt-PT"]), "pt-BR");
  assert.equal(chooseLanguage(["en-US", "pt-BR"]), "en");
  assert.equal(chooseLanguage(["fr-FR", "pt"]), "pt-BR");
  assert.equal(chooseLanguage(["de"]), "en");
});

test("parseEvent refuses anything but a parley.v1 event object", () => {
  assert.equal(parseEvent("not json"), null);
  assert.equal(parseEvent("[]"), null);
  assert.equal(parseEvent('{"no":"type"}'), null);
  assert.deepEqual(parseEvent('{"type":"left","room":"r"}'), { type: "left", room: "r" });
});
