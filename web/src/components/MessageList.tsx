import { useLayoutEffect, useRef } from "react";
import { isOwn, type ChatState, type PendingMessage, type RoomState } from "../chatState";
import type { Language, Strings } from "../i18n";
import { MessageItem } from "./MessageItem";
import { PendingItem } from "./PendingItem";

interface MessageListProps {
  room: RoomState;
  self: Pick<ChatState, "name" | "userId">;
  pending: PendingMessage[];
  strings: Strings;
  language: Language;
  olderBefore: number | undefined;
  onLoadOlder: (before: number) => void;
  onRetry: (id: string) => void;
  onDiscard: (id: string) => void;
  /** Deletes a message; offered on the user's own messages, and on every message when `moderator`. */
  onDelete: (offset: number) => void;
  moderator: boolean;
}

/** Distance from the bottom, in pixels, within which the list follows new messages. */
const followThreshold = 80;

export function MessageList(props: MessageListProps) {
  const { room, olderBefore, onLoadOlder } = props;
  const list = useRef<HTMLOListElement>(null);
  const following = useRef(true);
  const requested = useRef<number | null>(null);
  const anchor = useRef<{ offset: number; top: number } | null>(null);
  /** Where the list was scrolled to last: older messages load when the reader scrolls up near the top, not when the
   * list follows new messages down and its first overflow leaves it a few pixels from the top. */
  const lastScrollTop = useRef(0);

  // Keep the view steady when older messages are prepended, and follow new ones when already at the bottom.
  useLayoutEffect(() => {
    const element = list.current;
    if (!element) return;
    const saved = anchor.current;
    if (saved !== null) {
      const item = element.querySelector<HTMLElement>(`[data-offset="${saved.offset}"]`);
      if (item) element.scrollTop += item.offsetTop - saved.top;
      anchor.current = null;
    } else if (following.current) {
      element.scrollTop = element.scrollHeight;
    }
    // Known now, not when the scroll event comes: a scroll to the top before that event must still count as scrolling
    // up (the browser sends one event for both moves, from where the reader was before either).
    lastScrollTop.current = element.scrollTop;
  }, [room.messages, props.pending]);

  function requestOlder() {
    if (olderBefore === undefined || requested.current === olderBefore) return;
    requested.current = olderBefore;
    const element = list.current;
    const first = element?.querySelector<HTMLElement>(`[data-offset="${olderBefore}"]`);
    if (first) anchor.current = { offset: olderBefore, top: first.offsetTop };
    onLoadOlder(olderBefore);
  }

  function scrolled() {
    const element = list.current;
    if (!element) return;
    following.current = element.scrollHeight - element.scrollTop - element.clientHeight < followThreshold;
    const scrolledUp = element.scrollTop < lastScrollTop.current;
    lastScrollTop.current = element.scrollTop;
    if (scrolledUp && element.scrollTop < 40) requestOlder();
  }

  return (
    <ol className="messages" ref={list} onScroll={scrolled} aria-live="polite" aria-label={`#${room.name}`} tabIndex={0}>
      <li className="messages__top">
        {olderBefore !== undefined ? (
          <button type="button" onClick={requestOlder}>
            {props.strings.loadOlder}
          </button>
        ) : (
          room.messages.length > 0 && <span>{props.strings.beginning}</span>
        )}
      </li>
      {room.messages.map((message) => (
        <MessageItem
          key={message.offset}
          message={message}
          own={isOwn(props.self, message)}
          strings={props.strings}
          language={props.language}
          onDelete={props.moderator || isOwn(props.self, message) ? props.onDelete : undefined}
        />
      ))}
      {props.pending.map((pending) => (
        <PendingItem key={pending.id} pending={pending} strings={props.strings} onRetry={props.onRetry} onDiscard={props.onDiscard} />
      ))}
    </ol>
  );
}
