import { useEffect, useRef, useState } from "react";
import type { Strings } from "../i18n";
import type { RoomRole, UserRef } from "../protocol";

/** What the user may do to another member from the member list. */
export interface MemberActions {
  /** Opens a direct message (signed-in users, with someone who is not a guest). */
  directMessage?: (user: UserRef) => void;
  /** Kick and ban (owners and moderators). */
  remove?: (user: UserRef, ban: boolean) => void;
  /** Give or take the moderator role (owners). */
  setRole?: (user: UserRef, role: Exclude<RoomRole, "owner">) => void;
}

interface MemberListProps {
  members: UserRef[];
  /** In a large room, how many people it has, the pages of them loaded so far, and how to load more. */
  large?: { count: number; pages?: { users: UserRef[]; next: string | null }; onLoad: (after?: string) => void };
  selfId: string | null;
  strings: Strings;
  actions: MemberActions;
}

/** Who is in the room; guests (anyone may speak as any guest name) are marked as such. A member's name opens the
 * actions the user has on them. A large room shows its count, and its people on demand, searchable and paged. */
export function MemberList({ members, large, selfId, strings, actions }: MemberListProps) {
  const [open, setOpen] = useState<string | null>(null);
  if (large) return <LargeMemberList {...large} selfId={selfId} strings={strings} actions={actions} open={open} setOpen={setOpen} />;
  return (
    <section className="members" aria-label={strings.membersHeading}>
      <h3>
        {strings.membersHeading} ({members.length})
      </h3>
      <MemberItems members={members} selfId={selfId} strings={strings} actions={actions} open={open} setOpen={setOpen} />
    </section>
  );
}

interface MemberItemsProps {
  members: UserRef[];
  selfId: string | null;
  strings: Strings;
  actions: MemberActions;
  open: string | null;
  setOpen: (id: string | null) => void;
}

function MemberItems({ members, selfId, strings, actions, open, setOpen }: MemberItemsProps) {
  return (
      <ul className="members__list">
        {members.map((member) => (
          <li key={member.id} className={member.id === selfId ? "members__item members__item--self" : "members__item"} data-user-id={member.id}>
            {member.id === selfId ? (
              member.name
            ) : (
              <MemberMenu
                member={member}
                strings={strings}
                actions={actions}
                open={open === member.id}
                onToggle={(opened) => setOpen(opened ? member.id : null)}
              />
            )}
            {member.id.startsWith("guest:") && <span className="members__guest"> ({strings.guest})</span>}
            {member.id === selfId && <span className="members__you"> ({strings.you})</span>}
          </li>
        ))}
      </ul>
  );
}

type LargeMemberListProps = NonNullable<MemberListProps["large"]> & Omit<MemberItemsProps, "members">;

/** "N people", and a panel that pages them in with `members` and filters what it loaded by name. */
function LargeMemberList({ count, pages, onLoad, selfId, strings, actions, open, setOpen }: LargeMemberListProps) {
  const [shown, setShown] = useState(false);
  const [query, setQuery] = useState("");
  const needle = query.trim().toLocaleLowerCase();
  const users = (pages?.users ?? []).filter((user) => needle === "" || user.name.toLocaleLowerCase().includes(needle));
  return (
    <section className="members members--large" aria-label={strings.membersHeading}>
      <h3 data-member-count={count}>{strings.people(count)}</h3>
      <button
        type="button"
        className="members__toggle"
        aria-expanded={shown}
        onClick={() => {
          if (!shown && pages === undefined) onLoad();
          setShown(!shown);
        }}
      >
        {shown ? strings.hidePeople : strings.showPeople}
      </button>
      {shown && (
        <div className="members__panel">
          <label htmlFor="member-search">{strings.searchPeople}</label>
          <input id="member-search" type="search" value={query} onChange={(event) => setQuery(event.target.value)} />
          <MemberItems members={users} selfId={selfId} strings={strings} actions={actions} open={open} setOpen={setOpen} />
          {pages?.next && (
            <button type="button" className="members__more" onClick={() => onLoad(pages.next ?? undefined)}>
              {strings.morePeople}
            </button>
          )}
        </div>
      )}
    </section>
  );
}

interface MemberMenuProps {
  member: UserRef;
  strings: Strings;
  actions: MemberActions;
  open: boolean;
  onToggle: (open: boolean) => void;
}

/** A member's name as a button that opens a menu of actions, when there are any; Escape closes it. */
function MemberMenu({ member, strings, actions, open, onToggle }: MemberMenuProps) {
  const first = useRef<HTMLButtonElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  const items: { label: string; kind: string; run: () => void }[] = [];
  if (actions.directMessage && !member.id.startsWith("guest:")) {
    const directMessage = actions.directMessage;
    items.push({ label: strings.directMessage, kind: "dm", run: () => directMessage(member) });
  }
  if (actions.remove) {
    const remove = actions.remove;
    items.push({ label: strings.kick, kind: "kick", run: () => remove(member, false) });
    items.push({ label: strings.ban, kind: "ban", run: () => remove(member, true) });
  }
  if (actions.setRole && !member.id.startsWith("guest:")) {
    const setRole = actions.setRole;
    items.push({ label: strings.makeModerator, kind: "moderator", run: () => setRole(member, "moderator") });
    items.push({ label: strings.makeMember, kind: "member", run: () => setRole(member, "member") });
  }
  useEffect(() => {
    if (open) first.current?.focus();
  }, [open]);

  if (items.length === 0) return <>{member.name}</>;
  const menuId = `member-menu-${member.id}`;
  return (
    <span
      className="member-menu"
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          onToggle(false);
          toggle.current?.focus();
        }
      }}
    >
      <button
        type="button"
        ref={toggle}
        className="member-menu__toggle"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={strings.memberMenu(member.name)}
        onClick={() => onToggle(!open)}
      >
        {member.name}
      </button>
      {open && (
        <span className="member-menu__items" role="menu" id={menuId}>
          {items.map((item, index) => (
            <button
              key={item.kind}
              type="button"
              role="menuitem"
              ref={index === 0 ? first : undefined}
              data-action={item.kind}
              onClick={() => {
                onToggle(false);
                item.run();
              }}
            >
              {item.label}
            </button>
          ))}
        </span>
      )}
    </span>
  );
}
