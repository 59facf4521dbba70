import { useEffect, useState } from "react";
import { olderPageBefore, typingNames, type ChatState, type PendingMessage, type RoomState } from "../chatState";
import type { Language, Strings } from "../i18n";
import { Composer } from "./Composer";
import { MemberList } from "./MemberList";
import { MessageList } from "./MessageList";
import { TypingIndicator } from "./TypingIndicator";

interface ChatRoomProps {
  room: RoomState;
  self: Pick<ChatState, "name" | "userId">;
  pending: PendingMessage[];
  strings: Strings;
  language: Language;
  onSend: (text: string) => void;
  onRetry: (id: string) => void;
  onDiscard: (id: string) => void;
  onLoadOlder: (before: number) => void;
  onTyping: () => void;
}

export function ChatRoom(props: ChatRoomProps) {
  const { room, self, strings } = props;
  const [now, setNow] = useState(Date.now());
  const hasTypists = Object.keys(room.typing).length > 0;
  useEffect(() => {
    if (!hasTypists) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [hasTypists]);

  return (
    <main className="room" aria-label={`#${room.name}`}>
      <header className="room__header">
        <h2>#{room.name}</h2>
        <MemberList members={room.members} selfId={self.userId} strings={strings} />
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
      />
      <TypingIndicator names={typingNames(room, now, self.userId)} strings={strings} />
      <Composer strings={strings} onSend={props.onSend} onTyping={props.onTyping} />
    </main>
  );
}
