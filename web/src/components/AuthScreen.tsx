import { useState, type FormEvent } from "react";
import { api, type AuthSettings } from "../api";
import type { Strings } from "../i18n";
import type { User } from "../protocol";
import { NameForm } from "./NameForm";

type Mode = "guest" | "signIn" | "register";

interface AuthScreenProps {
  strings: Strings;
  settings: AuthSettings;
  /** Why the user is here again (the session expired), if they were signed in. */
  notice: string | null;
  onGuest: (name: string) => void;
  onSignedIn: (user: User) => void;
}

/** The first screen: continue as a guest (when the server allows guests), sign in, or create an account. */
export function AuthScreen({ strings, settings, notice, onGuest, onSignedIn }: AuthScreenProps) {
  const [mode, setMode] = useState<Mode>(settings.guests ? "guest" : "signIn");
  const modes: Mode[] = [...(settings.guests ? (["guest"] as Mode[]) : []), "signIn", ...(settings.registration === "open" ? (["register"] as Mode[]) : [])];
  return (
    <div className="auth">
      {notice && (
        <p className="auth__notice" role="alert">
          {notice}
        </p>
      )}
      <div className="auth__modes" role="tablist">
        {modes.map((each) => (
          <button
            key={each}
            type="button"
            role="tab"
            aria-selected={each === mode}
            className={each === mode ? "auth__mode auth__mode--current" : "auth__mode"}
            onClick={() => setMode(each)}
          >
            {strings.authModes[each]}
          </button>
        ))}
      </div>
      {mode === "guest" ? <NameForm strings={strings} onSubmit={onGuest} /> : <AccountForm key={mode} mode={mode} strings={strings} onSignedIn={onSignedIn} />}
    </div>
  );
}

function AccountForm({ mode, strings, onSignedIn }: { mode: "signIn" | "register"; strings: Strings; onSignedIn: (user: User) => void }) {
  const [user, setUser] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    if (mode === "register") {
      const created = await api.register(user.trim(), password, name.trim() || undefined);
      if (!created.ok) {
        setBusy(false);
        setProblem(strings.authErrors[created.code] ?? created.message);
        return;
      }
    }
    const signedIn = await api.login(user.trim(), password);
    setBusy(false);
    if (signedIn.ok) {
      onSignedIn(signedIn.value.user);
    } else if (signedIn.code === "rate_limited") {
      setProblem(strings.tooManyAttempts(signedIn.retryAfter ?? 60));
    } else {
      setProblem(strings.authErrors[signedIn.code] ?? signedIn.message);
    }
  }

  return (
    <form className="account-form" onSubmit={submit}>
      <label htmlFor="account-user">{strings.userLabel}</label>
      <input id="account-user" type="text" autoComplete="username" required value={user} onChange={(e) => setUser(e.target.value)} />
      {mode === "register" && (
        <>
          <label htmlFor="account-name">{strings.displayNameLabel}</label>
          <input id="account-name" type="text" autoComplete="nickname" value={name} onChange={(e) => setName(e.target.value)} />
        </>
      )}
      <label htmlFor="account-password">{strings.passwordLabel}</label>
      <input
        id="account-password"
        type="password"
        autoComplete={mode === "register" ? "new-password" : "current-password"}
        required
        minLength={mode === "register" ? 8 : undefined}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      {problem && (
        <p className="account-form__problem" role="alert">
          {problem}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {mode === "register" ? strings.createAccount : strings.signIn}
      </button>
    </form>
  );
}
