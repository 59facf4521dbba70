import { useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { Strings } from "../i18n";

/** How often, at most, the server is told that the user is typing. */
const typingIntervalMs = 2500;

export function Composer({ strings, onSend, onTyping }: { strings: Strings; onSend: (text: string) => void; onTyping: () => void }) {
  const [text, setText] = useState("");
  const lastTyping = useRef(0);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    if (text.trim().length === 0) return;
    onSend(text);
    setText("");
    lastTyping.current = 0;
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="message-text" className="visually-hidden">
        {strings.messageLabel}
      </label>
      <textarea
        id="message-text"
        rows={2}
        placeholder={strings.messagePlaceholder}
        value={text}
        onKeyDown={keyDown}
        onChange={(event) => {
          setText(event.target.value);
          const now = Date.now();
          if (event.target.value.length > 0 && now - lastTyping.current > typingIntervalMs) {
            lastTyping.current = now;
            onTyping();
          }
        }}
      />
      <button type="submit">{strings.send}</button>
    </form>
  );
}
