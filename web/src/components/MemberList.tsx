import type { Strings } from "../i18n";
import type { UserRef } from "../protocol";

/** Who is in the room; guests (anyone may speak as any guest name) are marked as such. */
export function MemberList({ members, selfId, strings }: { members: UserRef[]; selfId: string | null; strings: Strings }) {
  return (
    <section className="members" aria-label={strings.membersHeading}>
      <h3>
        {strings.membersHeading} ({members.length})
      </h3>
      <ul className="members__list">
        {members.map((member) => (
          <li key={member.id} className={member.id === selfId ? "members__item members__item--self" : "members__item"} data-user-id={member.id}>
            {member.name}
            {member.id.startsWith("guest:") && <span className="members__guest"> ({strings.guest})</span>}
            {member.id === selfId && <span className="members__you"> ({strings.you})</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
