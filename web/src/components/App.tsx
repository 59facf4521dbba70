import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { initialState, reduce, type ChatState } from "../chatState";
import { ChatConnection } from "../connection";
import { stringsFor, type Language } from "../i18n";
import { isValidRoomName, type ServerEvent } from "../protocol";
import { newMessageId, pendingSends, rejoinCommands, sendCommand } from "../resume";
import { load, save } from "../storage";
import { ChatRoom } from "./ChatRoom";
import { ConnectionBadge } from "./ConnectionBadge";
import { NameForm } from "./NameForm";
import { RoomList } from "./RoomList";

const defaultRoom = "lobby";

export function App({ serverURL, language }: { serverURL: string; language: Language }) {
  const strings = stringsFor(language);
  const [state, dispatch] = useReducer(reduce, undefined, () => {
    const saved = load(window.localStorage);
    const rooms = saved.rooms.filter(isValidRoomName);
    const base = initialState(saved.name, rooms.length > 0 ? rooms : [defaultRoom], saved.pending);
    const current = saved.current !== null && base.rooms[saved.current] ? saved.current : base.current;
    return current === null ? base : reduce(base, { kind: "openRoom", room: current });
  });
  const stateRef = useRef<ChatState>(state);
  stateRef.current = state;
  const connectionRef = useRef<ChatConnection | null>(null);
  /** Rooms joined on the current connection, kept in step with the socket rather than with rendering. */
  const joinedRooms = useRef(new Set<string>());
  const [retryAt, setRetryAt] = useState<number | null>(null);

  useEffect(() => {
    save(window.localStorage, { name: state.name, rooms: state.roomOrder, current: state.current, pending: state.pending });
  }, [state.name, state.roomOrder, state.current, state.pending]);

  useEffect(() => {
    if (state.name === null) return;
    const name = state.name;
    const connection = new ChatConnection(serverURL, {
      onOpen: () => {
        dispatch({ kind: "status", status: "connecting" });
        connection.send({ type: "hello", name });
      },
      onEvent: (event: ServerEvent) => {
        dispatch({ kind: "event", event, now: Date.now() });
        switch (event.type) {
          case "welcome":
            connection.markHealthy();
            setRetryAt(null);
            for (const command of rejoinCommands(stateRef.current)) connection.send(command);
            break;
          case "joined":
            joinedRooms.current.add(event.room);
            for (const command of pendingSends(stateRef.current, event.room)) connection.send(command);
            break;
          case "left":
            joinedRooms.current.delete(event.room);
            break;
        }
      },
      onDisconnect: (delayMs) => {
        joinedRooms.current.clear();
        dispatch({ kind: "disconnected" });
        setRetryAt(Date.now() + delayMs);
      },
    });
    connectionRef.current = connection;
    connection.start();
    return () => {
      connection.stop();
      connectionRef.current = null;
      joinedRooms.current.clear();
    };
  }, [serverURL, state.name]);

  const openRoom = useCallback((room: string) => {
    const isNew = stateRef.current.rooms[room] === undefined;
    dispatch({ kind: "openRoom", room });
    if (isNew) connectionRef.current?.send({ type: "join", room });
  }, []);

  const closeRoom = useCallback((room: string) => {
    connectionRef.current?.send({ type: "leave", room });
    joinedRooms.current.delete(room);
    dispatch({ kind: "closeRoom", room });
  }, []);

  const sendMessage = useCallback((room: string, text: string) => {
    const id = newMessageId();
    dispatch({ kind: "queueSend", id, room, text });
    if (joinedRooms.current.has(room)) connectionRef.current?.send(sendCommand({ id, room, text }));
  }, []);

  const retry = useCallback((id: string) => {
    const pending = stateRef.current.pending.find((p) => p.id === id);
    if (!pending) return;
    dispatch({ kind: "retry", id });
    if (joinedRooms.current.has(pending.room)) connectionRef.current?.send(sendCommand(pending));
  }, []);

  const discard = useCallback((id: string) => dispatch({ kind: "discard", id }), []);
  const loadOlder = useCallback((room: string, before: number) => {
    connectionRef.current?.send({ type: "history", room, before, limit: 50 });
  }, []);
  const typing = useCallback((room: string) => {
    connectionRef.current?.send({ type: "typing", room });
  }, []);

  if (state.name === null) {
    return (
      <main className="app app--welcome">
        <h1>{strings.title}</h1>
        <NameForm strings={strings} onSubmit={(name) => dispatch({ kind: "setName", name })} />
      </main>
    );
  }

  const current = state.current !== null ? state.rooms[state.current] : undefined;
  return (
    <div className="app">
      <header className="app__header">
        <h1>{strings.title}</h1>
        <ConnectionBadge status={state.status} retryAt={retryAt} strings={strings} />
        <span className="app__user">{strings.signedInAs(state.name)}</span>
      </header>
      <RoomList
        strings={strings}
        rooms={state.roomOrder.map((name) => state.rooms[name])}
        current={state.current}
        onOpen={openRoom}
        onLeave={closeRoom}
      />
      {current ? (
        <ChatRoom
          key={current.name}
          room={current}
          self={state.name}
          pending={state.pending.filter((p) => p.room === current.name)}
          strings={strings}
          language={language}
          onSend={(text) => sendMessage(current.name, text)}
          onRetry={retry}
          onDiscard={discard}
          onLoadOlder={(before) => loadOlder(current.name, before)}
          onTyping={() => typing(current.name)}
        />
      ) : (
        <main className="room room--empty" />
      )}
    </div>
  );
}

