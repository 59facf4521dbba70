import { useState, type FormEvent } from "react";
import type { RoomState } from "../chatState";
import type { Strings } from "../i18n";
import { isValidRoomName } from "../protocol";

interface RoomListProps {
  strings: Strings;
  rooms: RoomState[];
  current: string | null;
  onOpen: (room: string) => void;
  onLeave: (room: string) => void;
}

export function RoomList({ strings, rooms, current, onOpen, onLeave }: RoomListProps) {
  const [draft, setDraft] = useState("");
  const [invalid, setInvalid] = useState(false);

  function join(event: FormEvent) {
    event.preventDefault();
    const room = draft.trim();
    if (!isValidRoomName(room)) {
      setInvalid(true);
      return;
    }
    onOpen(room);
    setDraft("");
  }

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
              <span className="rooms__name">#{room.name}</span>
              {room.unread > 0 && (
                <span className="rooms__unread" aria-label={strings.unread(room.unread)} data-unread={room.unread}>
                  {room.unread}
                </span>
              )}
            </button>
            <button type="button" className="rooms__leave" aria-label={strings.leaveRoom(room.name)} title={strings.leaveRoom(room.name)} onClick={() => onLeave(room.name)}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <form className="rooms__join" onSubmit={join}>
        <label htmlFor="join-room">{strings.joinRoomLabel}</label>
        <div className="rooms__join-row">
          <input
            id="join-room"
            type="text"
            maxLength={64}
            value={draft}
            aria-invalid={invalid}
            onChange={(event) => {
              setDraft(event.target.value);
              setInvalid(false);
            }}
          />
          <button type="submit">{strings.joinRoom}</button>
        </div>
        {invalid && (
          <p className="form-error" role="alert">
            {strings.roomInvalid}
          </p>
        )}
      </form>
    </nav>
  );
}
