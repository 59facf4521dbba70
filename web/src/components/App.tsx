import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { api, type AuthSettings } from "../api";
import {
  actionRef,
  directMessageRef,
  initialState,
  joinRef,
  membersRef,
  moderates,
  reduce,
  roleIn,
  type ChatState,
  type Notice,
} from "../chatState";
import { FallbackConnection, type Transport } from "../connection";
import { HttpChatConnection } from "../httpConnection";
import { stringsFor, type Language, type Strings } from "../i18n";
import { CloseCode, isValidRoomName, type ClientCommand, type RoomVisibility, type ServerEvent, type User } from "../protocol";
import { newMessageId, pendingSends, rejoinCommands, sendCommand } from "../resume";
import { load, save } from "../storage";
import { ChatRoom } from "./ChatRoom";
import { AuthScreen } from "./AuthScreen";
import { ConnectionBadge } from "./ConnectionBadge";
import { RoomList } from "./RoomList";

const defaultRoom = "lobby";

/** Who the page chats as: still asking the server, nobody yet, a guest (the name in the chat state), or an account
 * (the session is in an HttpOnly cookie the browser sends with the WebSocket upgrade). */
type Auth = { phase: "loading" } | { phase: "signedOut"; notice: string | null } | { phase: "guest" } | { phase: "account"; user: User };

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
  const connectionRef = useRef<Transport | null>(null);
  /** Whether WebSockets do not get through to the server, so the page chats over plain HTTP ("compatibility mode"). */
  const [compatibility, setCompatibility] = useState(false);
  const compatibilityRef = useRef(false);
  /** Rooms joined on the current connection, kept in step with the socket rather than with rendering. */
  const joinedRooms = useRef(new Set<string>());
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [settings, setSettings] = useState<AuthSettings>({ guests: true, registration: "closed" });
  const [auth, setAuth] = useState<Auth>({ phase: "loading" });

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      const [allowed, me] = await Promise.all([api.settings(), api.me()]);
      if (cancelled) return;
      const current = allowed.ok ? allowed.value : { guests: true, registration: "closed" as const };
      setSettings(current);
      if (me.ok) {
        dispatch({ kind: "setName", name: me.value.user.name });
        setAuth({ phase: "account", user: me.value.user });
      } else if (stateRef.current.name !== null && current.guests) {
        setAuth({ phase: "guest" });
      } else {
        setAuth({ phase: "signedOut", notice: current.guests ? null : strings.signInRequired });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  useEffect(() => {
    if (auth.phase === "loading") return;
    // Only a guest's name is remembered: an account's comes from the server, with the session cookie.
    const name = auth.phase === "guest" ? state.name : null;
    save(window.localStorage, { name, rooms: state.roomOrder, current: state.current, pending: state.pending });
  }, [auth.phase, state.name, state.roomOrder, state.current, state.pending]);

  useEffect(() => {
    if (state.name === null || (auth.phase !== "guest" && auth.phase !== "account")) return;
    const name = state.name;
    const asGuest = auth.phase === "guest";
    const connection = new FallbackConnection(serverURL, {
      onOpen: () => {
        dispatch({ kind: "status", status: "connecting" });
        connection.send({ type: "hello", name, ref: "hello" });
      },
      onEvent: (event: ServerEvent) => {
        dispatch({ kind: "event", event, now: Date.now() });
        switch (event.type) {
          case "welcome":
            connection.markHealthy();
            setRetryAt(null);
            for (const command of rejoinCommands(stateRef.current)) connection.send(command);
            connection.send({ type: "rooms" });
            break;
          case "created":
            openRoom(event.room);
            connection.send({ type: "rooms" });
            break;
          case "removed":
            joinedRooms.current.delete(event.room);
            connection.send({ type: "rooms" });
            break;
          case "presence":
            // A large room that became small again: its full list replaces the page it showed.
            if ("count" in event && event.count <= (stateRef.current.limits?.presenceListLimit ?? 100)) {
              connection.send({ type: "members", room: event.room, limit: Math.max(1, event.count), ref: membersRef(event.room, "refresh") });
            }
            break;
          case "invited":
          case "done":
            // Memberships and roles changed: the room list and the menus follow.
            connection.send({ type: "rooms" });
            break;
          case "joined":
            joinedRooms.current.add(event.room);
            for (const command of pendingSends(stateRef.current, event.room)) connection.send(command);
            break;
          case "left":
            joinedRooms.current.delete(event.room);
            break;
          case "error":
            if (event.ref === "hello" && (event.code === "name_taken" || event.code === "invalid_name")) {
              // The name cannot be had: back to the first screen, saying why.
              connection.stop();
              dispatch({ kind: "forgetUser" });
              setAuth({ phase: "signedOut", notice: strings.errors[event.code] });
            }
            break;
        }
      },
      onDisconnect: (delayMs, closeCode) => {
        joinedRooms.current.clear();
        dispatch({ kind: "disconnected" });
        if (closeCode === CloseCode.unauthorized || closeCode === CloseCode.bannedFromServer) {
          // The session expired, was signed out elsewhere, or its user was banned: no point reconnecting with it.
          connection.stop();
          dispatch({ kind: "forgetUser" });
          const notice =
            closeCode === CloseCode.bannedFromServer
              ? strings.bannedFromServer
              : auth.phase === "account"
                ? strings.sessionExpired
                : strings.signInRequired;
          setAuth({ phase: "signedOut", notice });
          return;
        }
        setRetryAt(Date.now() + delayMs);
      },
    }, {
      startWithFallback: compatibilityRef.current,
      createFallback: (callbacks) => new HttpChatConnection(callbacks, asGuest),
      onFallback: () => {
        compatibilityRef.current = true;
        setCompatibility(true);
      },
    });
    connectionRef.current = connection;
    connection.start();
    return () => {
      connection.stop();
      connectionRef.current = null;
      joinedRooms.current.clear();
    };
  }, [serverURL, state.name, auth.phase]);

  const openRoom = useCallback((room: string) => {
    const isNew = stateRef.current.rooms[room] === undefined;
    dispatch({ kind: "openRoom", room });
    if (isNew) connectionRef.current?.send({ type: "join", room, ref: joinRef(room) });
  }, []);

  /** Sends a room or moderation command; a refusal comes back as a notice (see `actionRef`). */
  const act = useCallback((command: ClientCommand) => {
    connectionRef.current?.send({ ...command, ref: command.type === "dm" ? directMessageRef : actionRef });
  }, []);
  const createRoom = useCallback((room: string, visibility: RoomVisibility) => act({ type: "create", room, visibility }), [act]);
  const deleteMessage = useCallback((room: string, offset: number) => act({ type: "delete", room, offset }), [act]);
  const invite = useCallback((room: string, user: string) => act({ type: "invite", room, user }), [act]);
  const loadMembers = useCallback((room: string, after?: string) => {
    const ref = membersRef(room, after === undefined ? "first" : "more");
    connectionRef.current?.send(after === undefined ? { type: "members", room, limit: 100, ref } : { type: "members", room, after, limit: 100, ref });
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

  const leave = useCallback(async () => {
    if (auth.phase === "account") await api.logout();
    dispatch({ kind: "forgetUser" });
    setAuth({ phase: "signedOut", notice: null });
  }, [auth.phase]);

  if (auth.phase === "loading") {
    return <main className="app app--welcome" aria-busy="true" />;
  }
  if (auth.phase === "signedOut" || state.name === null) {
    return (
      <main className="app app--welcome">
        <h1>{strings.title}</h1>
        <AuthScreen
          strings={strings}
          settings={settings}
          notice={auth.phase === "signedOut" ? auth.notice : null}
          onGuest={(name) => {
            dispatch({ kind: "setName", name });
            setAuth({ phase: "guest" });
          }}
          onSignedIn={(user) => {
            dispatch({ kind: "setName", name: user.name });
            setAuth({ phase: "account", user });
          }}
        />
      </main>
    );
  }

  const current = state.current !== null ? state.rooms[state.current] : undefined;
  const signedIn = auth.phase === "account";
  const currentModerated = current !== undefined && current.kind === "room" && moderates(state, current.name);
  return (
    <div className="app">
      <header className="app__header">
        <h1>{strings.title}</h1>
        <ConnectionBadge status={state.status} retryAt={retryAt} compatibility={compatibility} strings={strings} />
        <span className="app__user">
          {strings.signedInAs(state.name)}
          {auth.phase === "guest" && <span className="app__guest"> ({strings.guest})</span>}
        </span>
        <button type="button" className="app__leave" onClick={() => void leave()}>
          {auth.phase === "account" ? strings.signOut : strings.changeName}
        </button>
      </header>
      {state.notice && (
        <div className="notice" role="status">
          <span>{noticeText(state.notice, strings)}</span>
          <button type="button" onClick={() => dispatch({ kind: "dismissNotice" })}>
            {strings.dismiss}
          </button>
        </div>
      )}
      <RoomList
        strings={strings}
        rooms={state.roomOrder.map((name) => state.rooms[name])}
        current={state.current}
        others={state.directory.filter((summary) => state.rooms[summary.room] === undefined)}
        canCreate={signedIn}
        onOpen={openRoom}
        onLeave={closeRoom}
        onCreate={createRoom}
      />
      {current ? (
        <ChatRoom
          key={current.name}
          room={current}
          self={state}
          pending={state.pending.filter((p) => p.room === current.name)}
          strings={strings}
          language={language}
          onSend={(text) => sendMessage(current.name, text)}
          onRetry={retry}
          onDiscard={discard}
          onLoadOlder={(before) => loadOlder(current.name, before)}
          onTyping={() => typing(current.name)}
          moderator={currentModerated}
          memberActions={{
            directMessage: signedIn ? (user) => act({ type: "dm", user: user.id }) : undefined,
            remove: currentModerated ? (user, ban) => act({ type: ban ? "ban" : "kick", room: current.name, user: user.id }) : undefined,
            setRole:
              current.kind === "room" && roleIn(state, current.name) === "owner"
                ? (user, role) => act({ type: "role", room: current.name, user: user.id, role })
                : undefined,
          }}
          onDelete={deleteMessage}
          onInvite={invite}
          onLoadMembers={loadMembers}
        />
      ) : (
        <main className="room room--empty" />
      )}
    </div>
  );
}


/** What a notice says, in the page's language. */
function noticeText(notice: Notice, strings: Strings): string {
  switch (notice.kind) {
    case "removed":
      return strings.removed(`#${notice.room}`, notice.reason);
    case "invited":
      return notice.room.startsWith("dm-") ? strings.directMessageOpened(notice.by) : strings.invited(`#${notice.room}`, notice.by);
    case "refused":
      return strings.refused(`#${notice.room}`);
    case "failed":
      return strings.errors[notice.code] ?? notice.message;
  }
}
