import type { Strings } from "../i18n";

export function MemberList({ members, self, strings }: { members: string[]; self: string; strings: Strings }) {
  return (
    <section className="members" aria-label={strings.membersHeading}>
      <h3>
        {strings.membersHeading} ({members.length})
      </h3>
      <ul className="members__list">
        {members.map((member) => (
          <li key={member} className={member === self ? "members__item members__item--self" : "members__item"}>
            {member}
            {member === self && <span className="members__you"> ({strings.you})</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
