import type { PendingMessage } from "../chatState";
import type { Strings } from "../i18n";

interface PendingItemProps {
  pending: PendingMessage;
  strings: Strings;
  onRetry: (id: string) => void;
  onDiscard: (id: string) => void;
}

export function PendingItem({ pending, strings, onRetry, onDiscard }: PendingItemProps) {
  const failure = pending.failure;
  return (
    <li className={failure ? "message message--own message--failed" : "message message--own message--pending"} data-pending-id={pending.id}>
      <div className="message__meta">
        {failure ? (
          <span className="message__state message__state--failed" role="alert">
            {strings.errors[failure.code] ?? failure.message}
          </span>
        ) : (
          <span className="message__state message__state--pending">{strings.sending}</span>
        )}
      </div>
      <p className="message__text">{pending.text}</p>
      {failure && (
        <div className="message__actions">
          {failure.code !== "too_large" && (
            <button type="button" onClick={() => onRetry(pending.id)}>
              {strings.retry}
            </button>
          )}
          <button type="button" onClick={() => onDiscard(pending.id)}>
            {strings.discard}
          </button>
        </div>
      )}
    </li>
  );
}
