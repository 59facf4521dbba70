import { useState, type FormEvent } from "react";
import { roomTitle, type RoomState } from "../chatState";
import type { Strings } from "../i18n";
import { isValidRoomName, type RoomSummary, type RoomVisibility } from "../protocol";

interface RoomListProps {
  strings: Strings;
  rooms: RoomState[];
  current: string | null;
  /** Rooms the user could open that are not open: theirs and the public ones (from the `rooms` reply). */
  others: RoomSummary[];
  /** Whether the user may create rooms (signed in, not a guest). */
  canCreate: boolean;
  onOpen: (room: string) => void;
  onLeave: (room: string) => void;
  onCreate: (room: string, visibility: RoomVisibility) => void;
}

/** A lock for private rooms and direct messages, named for screen readers. Drawn, not an emoji: a machine without
 * an emoji font would show a missing glyph. */
export function PrivateMark({ strings }: { strings: Strings }) {
  return (
    <span className="lock" role="img" aria-label={strings.privateRoom} title={strings.privateRoom}>
      <svg viewBox="0 0 16 16" width="0.85em" height="0.85em" aria-hidden="true" focusable="false">
        <path
          fill="currentColor"
          fillRule="evenodd"
          d="M5 7V5a3 3 0 0 1 6 0v2h1.5v8h-9V7H5zm1.5 0h3V5a1.5 1.5 0 0 0-3 0v2z"
        />
      </svg>
    </span>
  );
}

export function RoomList({ strings, rooms, current, others, canCreate, onOpen, onLeave, onCreate }: RoomListProps) {
  return (
    <nav className="rooms" aria-label={strings.roomsHeading}>
      <h2>{strings.roomsHeading}</h2>
      <ul>
        {rooms.map((room) => (
          <li key={room.name} className={room.name === current ? "rooms__item rooms__item--current" : "rooms__item"}>
            <button
              type="button"
              className="rooms__open"
              aria-current={room.name === current ? "page" : undefined}
              onClick={() => onOpen(room.name)}
            >
              {room.visibility === "private" && <PrivateMark strings={strings} />}
              <span className="rooms__name">{roomTitle(room)}</span>
              {room.unread > 0 && (
                <span className="rooms__unread" aria-label={strings.unread(room.unread)} data-unread={room.unread}>
                  {room.unread}
                </span>
              )}
            </button>
            <button
              type="button"
              className="rooms__leave"
              aria-label={strings.leaveRoom(roomTitle(room))}
              title={strings.leaveRoom(roomTitle(room))}
              onClick={() => onLeave(room.name)}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <RoomNameForm id="join-room" label={strings.joinRoomLabel} action={strings.joinRoom} strings={strings} onSubmit={(room) => onOpen(room)} />
      {canCreate && (
        <RoomNameForm
          id="create-room"
          label={strings.createRoomLabel}
          action={strings.createRoom}
          strings={strings}
          withVisibility
          onSubmit={(room, visibility) => onCreate(room, visibility)}
        />
      )}
      {others.length > 0 && (
        <section className="rooms__others" aria-label={strings.otherRooms}>
          <h3>{strings.otherRooms}</h3>
          <ul>
            {others.map((summary) => (
              <li key={summary.room}>
                <button type="button" className="rooms__other" data-room={summary.room} onClick={() => onOpen(summary.room)}>
                  {summary.visibility === "private" && <PrivateMark strings={strings} />}
                  <span className="rooms__name">{summary.kind === "dm" && summary.peer ? `@${summary.peer.name}` : `#${summary.room}`}</span>
                  <span className="rooms__count">{strings.memberCount(summary.members)}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </nav>
  );
}

interface RoomNameFormProps {
  id: string;
  label: string;
  action: string;
  strings: Strings;
  withVisibility?: boolean;
  onSubmit: (room: string, visibility: RoomVisibility) => void;
}

/** A room name field with its button (and, for creating, public or private), checking the name rule first. */
function RoomNameForm({ id, label, action, strings, withVisibility = false, onSubmit }: RoomNameFormProps) {
  const [draft, setDraft] = useState("");
  const [visibility, setVisibility] = useState<RoomVisibility>("public");
  const [invalid, setInvalid] = useState(false);

  function submit(event: FormEvent) {
    event.preventDefault();
    const room = draft.trim();
    if (!isValidRoomName(room)) {
      setInvalid(true);
      return;
    }
    onSubmit(room, visibility);
    setDraft("");
  }

  return (
    <form className="rooms__join" onSubmit={submit}>
      <label htmlFor={id}>{label}</label>
      <div className="rooms__join-row">
        <input
          id={id}
          type="text"
          maxLength={64}
          value={draft}
          aria-invalid={invalid}
          onChange={(event) => {
            setDraft(event.target.value);
            setInvalid(false);
          }}
        />
        <button type="submit">{action}</button>
      </div>
      {withVisibility && (
        <div className="rooms__visibility">
          <label htmlFor={`${id}-visibility`}>{strings.visibilityLabel}</label>
          <select id={`${id}-visibility`} value={visibility} onChange={(event) => setVisibility(event.target.value as RoomVisibility)}>
            <option value="public">{strings.visibility.public}</option>
            <option value="private">{strings.visibility.private}</option>
          </select>
        </div>
      )}
      {invalid && (
        <p className="form-error" role="alert">
          {strings.roomInvalid}
        </p>
      )}
    </form>
  );
}
