import { useEffect, useState } from "react";
import type { ConnectionStatus } from "../chatState";
import type { Strings } from "../i18n";

/** How the connection is: online, connecting, or offline until the next attempt; and, discreetly, whether the page
 * chats over plain HTTP because WebSockets do not get through. */
export function ConnectionBadge({
  status,
  retryAt,
  compatibility,
  strings,
}: {
  status: ConnectionStatus;
  retryAt: number | null;
  compatibility: boolean;
  strings: Strings;
}) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (status !== "reconnecting") return;
    const timer = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(timer);
  }, [status]);

  const text =
    status === "online"
      ? strings.status.online
      : status === "connecting"
        ? strings.status.connecting
        : strings.status.reconnecting(retryAt === null ? 0 : Math.max(0, Math.ceil((retryAt - now) / 1000)));
  return (
    <span className={`connection connection--${status}`} role="status" data-status={status}>
      {text}
      {compatibility && (
        <span className="connection__mode" data-mode="compatibility" title={strings.compatibilityModeExplained}>
          {" · "}
          {strings.compatibilityMode}
        </span>
      )}
    </span>
  );
}
