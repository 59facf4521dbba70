import { memo, useState } from "react";
import type { Language, Strings } from "../i18n";
import type { ChatMessage } from "../protocol";

const formatters = new Map<Language, Intl.DateTimeFormat>();

function formatTime(ts: string, language: Language): string {
  let formatter = formatters.get(language);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit" });
    formatters.set(language, formatter);
  }
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? "" : formatter.format(date);
}

interface MessageItemProps {
  message: ChatMessage;
  own: boolean;
  strings: Strings;
  language: Language;
  /** Deletes the message (given to its author and to the room's moderators); asks for a confirmation first. */
  onDelete?: (offset: number) => void;
}

export const MessageItem = memo(function MessageItem({ message, own, strings, language, onDelete }: MessageItemProps) {
  const [confirming, setConfirming] = useState(false);
  const classes = ["message", own ? "message--own" : "", message.deleted ? "message--deleted" : ""].filter(Boolean).join(" ");
  return (
    <li className={classes} data-offset={message.offset} data-id={message.id}>
      <div className="message__meta">
        <span className="message__from">{message.from}</span>
        <time className="message__time" dateTime={message.ts} title={message.ts}>
          {formatTime(message.ts, language)}
        </time>
        {own && <span className="message__state message__state--delivered">{strings.delivered}</span>}
      </div>
      {message.deleted ? (
        <p className="message__text message__text--deleted">{strings.messageDeleted}</p>
      ) : (
        <p className="message__text">{message.text}</p>
      )}
      {onDelete && !message.deleted && (
        <div className="message__actions">
          {confirming ? (
            <>
              <button type="button" className="message__delete-confirm" onClick={() => onDelete(message.offset)}>
                {strings.confirmDelete}
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                {strings.cancel}
              </button>
            </>
          ) : (
            <button type="button" className="message__delete" onClick={() => setConfirming(true)}>
              {strings.deleteMessage}
            </button>
          )}
        </div>
      )}
    </li>
  );
});
