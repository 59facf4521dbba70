import { useState, type FormEvent } from "react";
import type { Strings } from "../i18n";
import { isPlausibleDisplayName } from "../protocol";

export function NameForm({ strings, onSubmit }: { strings: Strings; onSubmit: (name: string) => void }) {
  const [name, setName] = useState("");
  const [invalid, setInvalid] = useState(false);

  function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = name.trim();
    if (!isPlausibleDisplayName(trimmed)) {
      setInvalid(true);
      return;
    }
    onSubmit(trimmed);
  }

  return (
    <form className="name-form" onSubmit={submit}>
      <p>{strings.namePrompt}</p>
      <label htmlFor="display-name">{strings.nameLabel}</label>
      <input
        id="display-name"
        name="display-name"
        type="text"
        autoComplete="nickname"
        autoFocus
        maxLength={64}
        value={name}
        aria-invalid={invalid}
        aria-describedby={invalid ? "display-name-error" : undefined}
        onChange={(event) => {
          setName(event.target.value);
          setInvalid(false);
        }}
      />
      {invalid && (
        <p id="display-name-error" className="form-error" role="alert">
          {strings.nameInvalid}
        </p>
      )}
      <button type="submit">{strings.start}</button>
    </form>
  );
}
