import { memo } from "react";
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
}

export const MessageItem = memo(function MessageItem({ message, own, strings, language }: MessageItemProps) {
  return (
    <li className={own ? "message message--own" : "message"} data-offset={message.offset} data-id={message.id}>
      <div className="message__meta">
        <span className="message__from">{message.from}</span>
        <time className="message__time" dateTime={message.ts} title={message.ts}>
          {formatTime(message.ts, language)}
        </time>
        {own && <span className="message__state message__state--delivered">{strings.delivered}</span>}
      </div>
      <p className="message__text">{message.text}</p>
    </li>
  );
});
