/*
 * The CPU a durable SQLite commit costs on this machine, with nothing of Parley around it: the floor under Parley's
 * server CPU per message wherever each message is committed (and synced) before its ack.
 *
 * One thread commits COMMITS transactions at COMMITS_PER_SECOND (0: back to back), each BEGIN IMMEDIATE, for every
 * message the duplicate lookup and the insert Parley's writer makes, then COMMIT; on Parley's table (WITHOUT ROWID,
 * the same key and unique index), in write-ahead-log mode with `synchronous = FULL` (a sync per commit) and
 * SQLite's default automatic checkpoints. Prints, over all but the first tenth of the commits, the process's CPU time
 * (user + system) per commit and per message, and the time from when each commit was due to the end of its COMMIT
 * (p50, p99; a commit waits for the ones before it, as sends queue behind a store's one writer): the least time an
 * ack given after the commit can take at that rate.
 *
 *     cc -O2 -o sqlite_commit_floor benchmarks/sqlite_commit_floor.c -lsqlite3
 *     ./sqlite_commit_floor DATABASE COMMITS_PER_SECOND MESSAGES_PER_COMMIT COMMITS
 *
 * benchmarks/sqlite_commit_floor.sh builds it and runs the cases of issue 17.
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_microseconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

static double now_microseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1e6 + now.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fail(sqlite3 *db, const char *what) {
    fprintf(stderr, "sqlite_commit_floor: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void execute(sqlite3 *db, const char *sql) {
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) fail(db, sql);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *statement;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) != SQLITE_OK) fail(db, sql);
    return statement;
}

static void step_to_end(sqlite3 *db, sqlite3_stmt *statement) {
    int result;
    while ((result = sqlite3_step(statement)) == SQLITE_ROW) {}
    if (result != SQLITE_DONE) fail(db, sqlite3_sql(statement));
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s DATABASE COMMITS_PER_SECOND MESSAGES_PER_COMMIT COMMITS\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    long rate = atol(argv[2]), per_commit = atol(argv[3]), commits = atol(argv[4]);
    if (rate < 0 || per_commit < 1 || commits < 10) {
        fprintf(stderr, "sqlite_commit_floor: COMMITS_PER_SECOND >= 0, MESSAGES_PER_COMMIT >= 1, COMMITS >= 10\n");
        return 2;
    }
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) fail(db, path);
    execute(db, "PRAGMA journal_mode = WAL");
    execute(db, "PRAGMA synchronous = FULL");
    execute(db, "PRAGMA secure_delete = ON");
    execute(db,
        "CREATE TABLE IF NOT EXISTS messages (room TEXT NOT NULL, room_offset INTEGER NOT NULL, sender_id TEXT NOT NULL, "
        "sender TEXT NOT NULL, client_id TEXT NOT NULL, text TEXT NOT NULL, stored_at INTEGER NOT NULL, target INTEGER, "
        "deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (room, room_offset), UNIQUE (room, sender_id, client_id)) "
        "WITHOUT ROWID");
    sqlite3_stmt *begin = prepare(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prepare(db, "COMMIT");
    sqlite3_stmt *find_stored = prepare(db,
        "SELECT room, room_offset, sender_id, sender, client_id, text, stored_at, target, deleted FROM messages "
        "WHERE room = ? AND sender_id = ? AND client_id = ?");
    sqlite3_stmt *insert = prepare(db,
        "INSERT INTO messages (room, room_offset, sender_id, sender, client_id, text, stored_at, target, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");

    char text[101];
    memset(text, 'x', 100);
    text[100] = 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long measured_from = commits / 10, offset = 0;
    double started = 0;
    double *durations = malloc(sizeof(double) * (size_t)(commits - measured_from));
    if (durations == NULL) {
        fprintf(stderr, "sqlite_commit_floor: no memory for %ld commit times\n", commits - measured_from);
        return 1;
    }
    for (long i = 0; i < commits; i++) {
        if (i == measured_from) started = cpu_microseconds();
        if (rate > 0) {
            next.tv_nsec += 1000000000L / rate;
            if (next.tv_nsec >= 1000000000L) {
                next.tv_sec += 1;
                next.tv_nsec -= 1000000000L;
            }
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
        double due = rate > 0 ? next.tv_sec * 1e6 + next.tv_nsec / 1e3 : now_microseconds();
        step_to_end(db, begin);
        for (long m = 0; m < per_commit; m++) {
            offset += 1;
            char sender_id[32], client_id[32];
            snprintf(sender_id, sizeof sender_id, "guest:sender-%ld", offset % 10);
            snprintf(client_id, sizeof client_id, "client-%ld", offset);
            sqlite3_bind_text(find_stored, 1, "lobby", -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(find_stored, 2, sender_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(find_stored, 3, client_id, -1, SQLITE_TRANSIENT);
            step_to_end(db, find_stored);
            sqlite3_bind_text(insert, 1, "lobby", -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(insert, 2, offset);
            sqlite3_bind_text(insert, 3, sender_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert, 4, sender_id + strlen("guest:"), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert, 5, client_id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(insert, 6, text, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(insert, 7, 1764547200000LL + offset);
            sqlite3_bind_null(insert, 8);
            sqlite3_bind_int64(insert, 9, 0);
            step_to_end(db, insert);
        }
        step_to_end(db, commit);
        if (i >= measured_from) durations[i - measured_from] = now_microseconds() - due;
    }
    long measured = commits - measured_from;
    double per_commit_cpu = (cpu_microseconds() - started) / (double)measured;
    qsort(durations, (size_t)measured, sizeof(double), by_value);
    printf("%6ld commits/s %2ld msg/commit: %6.1f us CPU per commit, %6.1f per message; "
           "due to committed p50 %.2f ms, p99 %.2f ms\n",
        rate, per_commit, per_commit_cpu, per_commit_cpu / per_commit, durations[measured / 2] / 1e3,
        durations[measured * 99 / 100] / 1e3);
    free(durations);
    sqlite3_close(db);
    return 0;
}
