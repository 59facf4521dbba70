/// `parley_append`: a whole batch of drafts committed in one call, so that a batch costs one round trip.
///
/// It applies ``OffsetAssignment``'s rule in the database — the same rule, checked against it by
/// `PostgresAppendProcedureTests` on random batches: lock the batch's rooms in name order, answer a draft whose key
/// is stored (or new earlier in the batch) with that entry, answer the deletion of a missing, deleted or deletion
/// entry (or of one deleted earlier in the batch) with the entry unchanged, and number every other draft from its
/// room's head. It writes the new entries, erases what they delete, moves the heads, packs the new entries into
/// notifications as ``ClusterNotification/messages(_:)`` (an entry too large for NOTIFY travels by reference) and
/// commits before it returns, so a commit that fails (a full NOTIFY queue, say) is an error of the call and never
/// an answer. It is a procedure for that `COMMIT`: call it outside a transaction.
///
/// Drafts travel as parallel arrays, a deletion's target as 0 when there is none; outcomes come back the same way,
/// one per draft in order.
enum PostgresAppendProcedure {
    /// Creates (or replaces) the procedure.
    static let definition = """
        CREATE OR REPLACE PROCEDURE parley_append(
            drafts_room text[], drafts_sender_id text[], drafts_sender text[], drafts_client_id text[],
            drafts_text text[], drafts_target bigint[], now_ms bigint, channel text,
            OUT out_room text[], OUT out_offset bigint[], OUT out_sender_id text[], OUT out_sender text[],
            OUT out_client_id text[], OUT out_text text[], OUT out_stored_at bigint[], OUT out_target bigint[],
            OUT out_deleted boolean[], OUT out_new boolean[])
        LANGUAGE plpgsql AS $procedure$
        DECLARE
            draft_count int := coalesce(array_length(drafts_room, 1), 0);
            locked_rooms text[];
            room_heads bigint[];
            heads_before bigint[];
            room_number int;
            room_index int[];
            earlier_same_key int[];
            earlier_same_target int[];
            stored_entry parley_messages[];
            target_entry parley_messages[];
            answer parley_messages;
            draft_number int;
            earlier int;
            note text;
            pending text := '';
            -- {"k":"m","m":[]} around the notes
            envelope_bytes constant int := 16;
            pending_bytes int := envelope_bytes;
            max_payload_bytes constant int := \(ClusterNotification.maxPayloadBytes);
        BEGIN
            IF draft_count = 0 THEN
                RETURN;
            END IF;
            -- The statements below are planned once per session: left to choose, PostgreSQL planned them again on
            -- every call (a third of a one-message call's CPU). Their lookups are index probes whatever the sizes.
            -- Local to this call's transaction (a SET clause on a procedure would forbid its COMMIT).
            PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
            INSERT INTO parley_rooms (room) SELECT DISTINCT unnest(drafts_room) ORDER BY 1 ON CONFLICT DO NOTHING;
            -- Rooms locked in name order, so that writers on different nodes never deadlock. Every lookup here is
            -- one index probe per room or draft (a lateral or scalar subquery), whatever plan the table's size
            -- suggested when this session first planned it: a cached join plan could scan the whole table.
            SELECT array_agg(wanted.room ORDER BY wanted.room), array_agg(locked.head ORDER BY wanted.room)
            INTO locked_rooms, room_heads
            FROM (SELECT DISTINCT unnest(drafts_room) AS room ORDER BY 1) wanted
            CROSS JOIN LATERAL (SELECT r.head FROM parley_rooms r WHERE r.room = wanted.room FOR UPDATE) locked;
            heads_before := room_heads;

            -- Under the locks, whatever another node stored under the same keys or offsets has committed.
            SELECT array_agg(indexed.number::int ORDER BY d.draft_position),
                array_agg(d.same_key::int ORDER BY d.draft_position),
                array_agg(d.same_target::int ORDER BY d.draft_position),
                array_agg((
                    SELECT s FROM parley_messages s
                    WHERE s.room = d.room AND s.sender_id = d.sender_id AND s.client_id = d.client_id
                ) ORDER BY d.draft_position),
                array_agg((
                    SELECT t FROM parley_messages t WHERE d.target <> 0 AND t.room = d.room AND t.room_offset = d.target
                ) ORDER BY d.draft_position)
            INTO room_index, earlier_same_key, earlier_same_target, stored_entry, target_entry
            FROM (
                SELECT u.*,
                    lag(u.draft_position) OVER (PARTITION BY u.room, u.sender_id, u.client_id ORDER BY u.draft_position) AS same_key,
                    CASE WHEN u.target <> 0 THEN
                        lag(u.draft_position) OVER (PARTITION BY u.room, u.target ORDER BY u.draft_position)
                    END AS same_target
                FROM unnest(drafts_room, drafts_sender_id, drafts_client_id, drafts_target)
                    WITH ORDINALITY AS u (room, sender_id, client_id, target, draft_position)
            ) d
            JOIN unnest(locked_rooms) WITH ORDINALITY AS indexed (room, number) ON indexed.room = d.room;

            FOR draft_number IN 1..draft_count LOOP
                answer := NULL;
                IF (stored_entry[draft_number]).room_offset IS NOT NULL THEN
                    answer := stored_entry[draft_number];
                ELSE
                    -- Only one draft per key can be new: the first not stored before it.
                    earlier := earlier_same_key[draft_number];
                    WHILE earlier IS NOT NULL AND NOT out_new[earlier] LOOP
                        earlier := earlier_same_key[earlier];
                    END LOOP;
                    IF earlier IS NOT NULL THEN
                        out_room[draft_number] := out_room[earlier];
                        out_offset[draft_number] := out_offset[earlier];
                        out_sender_id[draft_number] := out_sender_id[earlier];
                        out_sender[draft_number] := out_sender[earlier];
                        out_client_id[draft_number] := out_client_id[earlier];
                        out_text[draft_number] := out_text[earlier];
                        out_stored_at[draft_number] := out_stored_at[earlier];
                        out_target[draft_number] := out_target[earlier];
                        out_deleted[draft_number] := false;
                        out_new[draft_number] := false;
                        CONTINUE;
                    END IF;
                    IF drafts_target[draft_number] <> 0 THEN
                        earlier := earlier_same_target[draft_number];
                        WHILE earlier IS NOT NULL AND NOT out_new[earlier] LOOP
                            earlier := earlier_same_target[earlier];
                        END LOOP;
                        IF earlier IS NOT NULL OR (target_entry[draft_number]).room_offset IS NULL
                            OR (target_entry[draft_number]).deleted OR (target_entry[draft_number]).target IS NOT NULL THEN
                            answer := target_entry[draft_number];
                            IF answer.room_offset IS NULL THEN
                                -- Nothing there: the draft itself, at the offset it names.
                                answer.room := drafts_room[draft_number];
                                answer.room_offset := drafts_target[draft_number];
                                answer.sender_id := drafts_sender_id[draft_number];
                                answer.sender := drafts_sender[draft_number];
                                answer.client_id := drafts_client_id[draft_number];
                                answer.text := drafts_text[draft_number];
                                answer.stored_at := now_ms;
                                answer.target := drafts_target[draft_number];
                            END IF;
                            answer.deleted := true;
                        END IF;
                    END IF;
                END IF;
                IF answer.room_offset IS NOT NULL THEN
                    out_room[draft_number] := answer.room;
                    out_offset[draft_number] := answer.room_offset;
                    out_sender_id[draft_number] := answer.sender_id;
                    out_sender[draft_number] := answer.sender;
                    out_client_id[draft_number] := answer.client_id;
                    out_text[draft_number] := answer.text;
                    out_stored_at[draft_number] := answer.stored_at;
                    out_target[draft_number] := coalesce(answer.target, 0);
                    out_deleted[draft_number] := answer.deleted;
                    out_new[draft_number] := false;
                    CONTINUE;
                END IF;
                room_heads[room_index[draft_number]] := room_heads[room_index[draft_number]] + 1;
                out_room[draft_number] := drafts_room[draft_number];
                out_offset[draft_number] := room_heads[room_index[draft_number]];
                out_sender_id[draft_number] := drafts_sender_id[draft_number];
                out_sender[draft_number] := drafts_sender[draft_number];
                out_client_id[draft_number] := drafts_client_id[draft_number];
                out_text[draft_number] := drafts_text[draft_number];
                out_stored_at[draft_number] := now_ms;
                out_target[draft_number] := drafts_target[draft_number];
                out_deleted[draft_number] := false;
                out_new[draft_number] := true;
            END LOOP;

            INSERT INTO parley_messages (room, room_offset, sender_id, sender, client_id, text, stored_at, target)
            SELECT e.room, e.room_offset, e.sender_id, e.sender, e.client_id, e.text, now_ms, NULLIF(e.target, 0)
            FROM unnest(out_room, out_offset, out_sender_id, out_sender, out_client_id, out_text, out_target, out_new)
                AS e (room, room_offset, sender_id, sender, client_id, text, target, is_new)
            WHERE e.is_new;
            FOR draft_number IN 1..draft_count LOOP
                CONTINUE WHEN NOT out_new[draft_number] OR out_target[draft_number] = 0;
                UPDATE parley_messages SET text = '', deleted = true
                WHERE room = out_room[draft_number] AND room_offset = out_target[draft_number];
            END LOOP;
            FOR room_number IN 1..array_length(locked_rooms, 1) LOOP
                CONTINUE WHEN room_heads[room_number] = heads_before[room_number];
                UPDATE parley_rooms SET head = room_heads[room_number] WHERE room = locked_rooms[room_number];
            END LOOP;

            FOR draft_number IN 1..draft_count LOOP
                CONTINUE WHEN NOT out_new[draft_number];
                note := json_strip_nulls(json_build_object('r', out_room[draft_number], 'o', out_offset[draft_number],
                    'i', out_sender_id[draft_number], 's', out_sender[draft_number], 'c', out_client_id[draft_number],
                    't', out_text[draft_number], 'ts', now_ms, 'g', NULLIF(out_target[draft_number], 0)))::text;
                IF envelope_bytes + octet_length(note) + 1 > max_payload_bytes THEN
                    note := json_build_object('r', out_room[draft_number], 'o', out_offset[draft_number])::text;
                END IF;
                IF pending_bytes + octet_length(note) + 1 > max_payload_bytes AND pending <> '' THEN
                    PERFORM pg_notify(channel, '{"k":"m","m":[' || pending || ']}');
                    pending := '';
                    pending_bytes := envelope_bytes;
                END IF;
                pending := CASE WHEN pending = '' THEN note ELSE pending || ',' || note END;
                pending_bytes := pending_bytes + octet_length(note) + 1;
            END LOOP;
            IF pending <> '' THEN
                PERFORM pg_notify(channel, '{"k":"m","m":[' || pending || ']}');
            END IF;
            COMMIT;
        END
        $procedure$
        """
}
