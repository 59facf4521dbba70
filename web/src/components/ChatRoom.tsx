import { useCallback, useEffect, useState, type FormEvent } from "react";
import { olderPageBefore, roomTitle, typingNames, type ChatState, type PendingMessage, type RoomState } from "../chatState";
import type { Language, Strings } from "../i18n";
import { Composer } from "./Composer";
import { MemberList, type MemberActions } from "./MemberList";
import { MessageList } from "./MessageList";
import { PrivateMark } from "./RoomList";
import { TypingIndicator } from "./TypingIndicator";

interface ChatRoomProps {
  room: RoomState;
  self: Pick<ChatState, "name" | "userId">;
  pending: PendingMessage[];
  strings: Strings;
  language: Language;
  /** Whether the user moderates the room (owner or moderator): kick, ban, invite, delete anyone's messages. */
  moderator: boolean;
  memberActions: MemberActions;
  onSend: (text: string) => void;
  onRetry: (id: string) => void;
  onDiscard: (id: string) => void;
  onLoadOlder: (before: number) => void;
  onTyping: () => void;
  onDelete: (room: string, offset: number) => void;
  onInvite: (room: string, user: string) => void;
  onLoadMembers: (room: string, after?: string) => void;
}

export function ChatRoom(props: ChatRoomProps) {
  const { room, self, strings, onDelete } = props;
  const [now, setNow] = useState(Date.now());
  const hasTypists = Object.keys(room.typing).length > 0;
  useEffect(() => {
    if (!hasTypists) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [hasTypists]);
  const deleteMessage = useCallback((offset: number) => onDelete(room.name, offset), [onDelete, room.name]);

  return (
    <main className="room" aria-label={roomTitle(room)}>
      <header className="room__header">
        <div className="room__title">
          {room.visibility === "private" && <PrivateMark strings={strings} />}
          <h2>{roomTitle(room)}</h2>
        </div>
        {props.moderator && room.kind === "room" && room.visibility === "private" && (
          <InviteForm strings={strings} onInvite={(user) => props.onInvite(room.name, user)} />
        )}
        <MemberList
          members={room.members}
          large={
            room.memberCount === undefined
              ? undefined
              : { count: room.memberCount, pages: room.memberPages, onLoad: (after) => props.onLoadMembers(room.name, after) }
          }
          selfId={self.userId}
          strings={strings}
          actions={props.memberActions}
        />
      </header>
      <MessageList
        room={room}
        self={self}
        pending={props.pending}
        strings={strings}
        language={props.language}
        olderBefore={olderPageBefore(room)}
        onLoadOlder={props.onLoadOlder}
        onRetry={props.onRetry}
        onDiscard={props.onDiscard}
        onDelete={deleteMessage}
        moderator={props.moderator}
      />
      <TypingIndicator names={typingNames(room, now, self.userId)} strings={strings} />
      <Composer strings={strings} onSend={props.onSend} onTyping={props.onTyping} />
    </main>
  );
}

/** Makes someone a member of the private room by their user name. */
function InviteForm({ strings, onInvite }: { strings: Strings; onInvite: (user: string) => void }) {
  const [user, setUser] = useState("");
  function submit(event: FormEvent) {
    event.preventDefault();
    const name = user.trim().toLowerCase();
    if (name.length === 0) return;
    onInvite(name);
    setUser("");
  }
  return (
    <form className="room__invite" onSubmit={submit}>
      <label htmlFor="invite-user">{strings.inviteLabel}</label>
      <input id="invite-user" type="text" maxLength={32} value={user} onChange={(event) => setUser(event.target.value)} />
      <button type="submit">{strings.invite}</button>
    </form>
  );
}
