import type { Strings } from "../i18n";

export function TypingIndicator({ names, strings }: { names: string[]; strings: Strings }) {
  return (
    <p className="typing" aria-live="polite">
      {names.length > 0 ? strings.typing(names) : "\u00a0"}
    </p>
  );
}
