/* The referee's durable ledger in SQLite (spec/ledger.md). */
#include "pol/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pol/wire.h"
#include "../io/fileio_int.h"

_Static_assert(POL_LEDGER_MAX_ACTION >= POL_WIRE_MAX_ENVELOPE, "an action is any envelope");

#define JOURNAL_TAG "libpol/ledger-journal/v1" /* hashed with its NUL [L-JNL-4] */

struct pol_ledger {
    sqlite3 *db;
    uint8_t *genesis;
    size_t genesis_len;
};

/* The schema of version 1 [L-SCHEMA-1]. Triggers keep events and the
 * journal append-only even against a hand-edited file; libpol checks the
 * same rules first, so that callers get precise statuses. */
static const char SCHEMA_SQL[] =
    "CREATE TABLE meta(\n"
    "  name TEXT PRIMARY KEY NOT NULL,\n"
    "  value ANY NOT NULL\n"
    ") STRICT;\n"
    "CREATE TABLE events(\n"
    "  seq INTEGER PRIMARY KEY CHECK (seq >= 1),\n"
    "  time_ms INTEGER NOT NULL CHECK (time_ms >= 0),\n"
    "  action BLOB NOT NULL,\n"
    "  id BLOB UNIQUE CHECK (id IS NULL OR length(id) = 32),\n"
    "  CHECK ((id IS NULL) = (length(action) = 0))\n"
    ") STRICT;\n"
    "CREATE TRIGGER events_gapless BEFORE INSERT ON events\n"
    "  WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events)\n"
    "  BEGIN SELECT RAISE(ABORT, 'events: seq must be the last seq + 1'); END;\n"
    "CREATE TRIGGER events_clock BEFORE INSERT ON events\n"
    "  WHEN NEW.time_ms < (SELECT time_ms FROM events ORDER BY seq DESC LIMIT 1)\n"
    "  BEGIN SELECT RAISE(ABORT, 'events: time before the last event'); END;\n"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events\n"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;\n"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events\n"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;\n"
    "CREATE TABLE projection(\n"
    "  kind TEXT NOT NULL,\n"
    "  key BLOB NOT NULL,\n"
    "  value TEXT NOT NULL,\n"
    "  seq INTEGER NOT NULL REFERENCES events(seq),\n"
    "  PRIMARY KEY (kind, key)\n"
    ") STRICT;\n"
    "CREATE TABLE journal(\n"
    "  dispute BLOB NOT NULL CHECK (length(dispute) = 32),\n"
    "  party INTEGER NOT NULL CHECK (party IN (0, 1)),\n"
    "  seq INTEGER NOT NULL CHECK (seq >= 1),\n"
    "  query BLOB NOT NULL,\n"
    "  answer BLOB NOT NULL,\n"
    "  PRIMARY KEY (dispute, party, seq)\n"
    ") STRICT;\n"
    "CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal\n"
    "  BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;\n"
    "CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal\n"
    "  BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;\n"
    "CREATE TABLE blobs(\n"
    "  hash BLOB PRIMARY KEY NOT NULL CHECK (length(hash) = 32),\n"
    "  data BLOB NOT NULL\n"
    ") STRICT;\n";

/* ------------------------------------------------------------- helpers */

static pol_status sql_status(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM: return POL_ERR_NOMEM;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return POL_ERR_FORMAT;
    case SQLITE_TOOBIG: return POL_ERR_TOO_LARGE;
    default: return POL_ERR_IO;
    }
}

/* Records SQLite's message for a failed call `what`. */
static pol_status sql_err(sqlite3 *db, int rc, const char *what)
{
    return pol_errorf(sql_status(rc), "ledger: %s: %s", what,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static pol_status exec(sqlite3 *db, const char *sql, const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? POL_OK : sql_err(db, rc, what);
}

static pol_status prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? POL_OK : sql_err(db, rc, sql);
}

/* Steps a statement: POL_OK with *row = 1 for a row, 0 when done. */
static pol_status step(sqlite3 *db, sqlite3_stmt *st, int *row)
{
    int rc = sqlite3_step(st);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return POL_OK;
    return sql_err(db, rc, sqlite3_sql(st));
}

/* Binds bytes as a BLOB; an empty one is a zero-length blob, not NULL
 * (sqlite3_bind_blob binds NULL for a NULL pointer). */
static int bind_bytes(sqlite3_stmt *st, int i, const void *p, size_t len)
{
    if (len == 0)
        return sqlite3_bind_zeroblob(st, i, 0);
    return sqlite3_bind_blob64(st, i, p, len, SQLITE_STATIC);
}

static pol_status bind_check(sqlite3 *db, int rc)
{
    return rc == SQLITE_OK ? POL_OK : sql_err(db, rc, "bind");
}

/* Copies a BLOB column of at most `cap` bytes into a malloc'd buffer (NULL
 * for an empty one). */
static pol_status col_copy(sqlite3_stmt *st, int i, size_t cap, const char *what, uint8_t **out,
                           size_t *len)
{
    *out = NULL;
    *len = 0;
    if (sqlite3_column_type(st, i) != SQLITE_BLOB)
        return pol_errorf(POL_ERR_FORMAT, "ledger: %s is not a blob", what);
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    if (n < 0 || (size_t)n > cap)
        return pol_errorf(POL_ERR_FORMAT, "ledger: stored %s of %d bytes exceeds cap %zu", what,
                          n, cap);
    if (n == 0)
        return POL_OK;
    if (!p)
        return pol_errorf(POL_ERR_NOMEM, "ledger: reading %s", what);
    *out = malloc((size_t)n);
    if (!*out)
        return pol_errorf(POL_ERR_NOMEM, "ledger: %s of %d bytes", what, n);
    memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return POL_OK;
}

/* Reads an id column: NULL (a tick) gives zero, else exactly 32 bytes. */
static pol_status col_id(sqlite3_stmt *st, int i, pol_digest *id)
{
    memset(id, 0, sizeof *id);
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return POL_OK;
    const void *p = sqlite3_column_blob(st, i);
    if (sqlite3_column_bytes(st, i) != 32 || !p)
        return pol_errorf(POL_ERR_FORMAT, "ledger: stored id is not 32 bytes");
    memcpy(id->b, p, 32);
    return POL_OK;
}

static int is_zero(const pol_digest *d)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < sizeof d->b; i++)
        acc |= d->b[i];
    return acc == 0;
}

/* BEGIN IMMEDIATE takes the write lock up front, so two writers never
 * deadlock upgrading a read lock. */
static pol_status tx_begin(sqlite3 *db) { return exec(db, "BEGIN IMMEDIATE", "begin"); }

static pol_status tx_commit(sqlite3 *db) { return exec(db, "COMMIT", "commit"); }

/* Rolls back if a transaction is open (SQLite may already have rolled back
 * after an I/O error); leaves pol_last_error alone. */
static void tx_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---------------------------------------------------------------- open */

static pol_status fsync_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return pol_errorf(POL_ERR_IO, "ledger: fsync %s: %s", path, strerror(e));
    }
    close(fd);
    return POL_OK;
}

/* Writes schema, version and genesis into the empty database `tmp`, in one
 * transaction. */
static pol_status build_new(const char *tmp, const uint8_t *genesis, size_t genesis_len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        pol_status s = sql_err(db, rc, "create");
        sqlite3_close(db);
        return s;
    }
    pol_status s = exec(db, "PRAGMA synchronous=FULL", "synchronous");
    if (!s)
        s = tx_begin(db);
    if (!s)
        s = exec(db, SCHEMA_SQL, "create schema");
    if (!s) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA application_id=%d", POL_LEDGER_APPLICATION_ID);
        s = exec(db, sql, "application_id");
    }
    if (!s)
        s = prep(db, "INSERT INTO meta(name, value) VALUES ('schema_version', ?1), "
                     "('genesis', ?2)",
                 &st);
    if (!s)
        s = bind_check(db, sqlite3_bind_int(st, 1, POL_LEDGER_SCHEMA_VERSION));
    if (!s)
        s = bind_check(db, bind_bytes(st, 2, genesis, genesis_len));
    int row;
    if (!s)
        s = step(db, st, &row);
    sqlite3_finalize(st);
    if (!s)
        s = tx_commit(db);
    if (s)
        tx_rollback(db);
    rc = sqlite3_close(db);
    if (!s && rc != SQLITE_OK)
        s = pol_errorf(POL_ERR_IO, "ledger: close %s: %s", tmp, sqlite3_errstr(rc));
    return s;
}

/* Creates a complete ledger at `path` [L-FILE-3]: built in a temporary
 * file, then hard-linked into place (link never replaces an existing
 * file). A file that appeared at `path` meanwhile wins: POL_OK, and the
 * caller opens that one. */
static pol_status create_file(const char *path, const uint8_t *genesis, size_t genesis_len)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof ".new-XXXXXX");
    char *tmp_journal = malloc(n + sizeof ".new-XXXXXX-journal");
    if (!tmp || !tmp_journal) {
        free(tmp);
        free(tmp_journal);
        return pol_errorf(POL_ERR_NOMEM, "ledger: path copy");
    }
    snprintf(tmp, n + sizeof ".new-XXXXXX", "%s.new-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        pol_status s = pol_errorf(POL_ERR_IO, "ledger: create %s: %s", tmp, strerror(errno));
        free(tmp);
        free(tmp_journal);
        return s;
    }
    close(fd);
    snprintf(tmp_journal, n + sizeof ".new-XXXXXX-journal", "%s-journal", tmp);

    pol_status s = build_new(tmp, genesis, genesis_len);
    if (!s)
        s = fsync_file(tmp);
    if (!s && link(tmp, path) != 0 && errno != EEXIST)
        s = pol_errorf(POL_ERR_IO, "ledger: link %s -> %s: %s", tmp, path, strerror(errno));
    unlink(tmp);
    unlink(tmp_journal);
    if (!s)
        s = pol_fsync_parent(path);
    free(tmp);
    free(tmp_journal);
    return s;
}

/* Checks that `db` is a libpol ledger this build can read [L-FILE-1,
 * L-FILE-2] and loads its genesis. Reads only: a refused file is not
 * changed [L-FILE-4]. */
static pol_status check_identity(pol_ledger *l, const char *path)
{
    sqlite3 *db = l->db;
    sqlite3_stmt *st = NULL;
    int row = 0;
    int rc = sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        pol_status s = sql_status(rc) == POL_ERR_FORMAT
                           ? pol_errorf(POL_ERR_FORMAT, "ledger %s: not an SQLite database: %s",
                                        path, sqlite3_errmsg(db))
                           : sql_err(db, rc, "application_id");
        sqlite3_finalize(st);
        return s;
    }
    int64_t app = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (app != POL_LEDGER_APPLICATION_ID)
        return pol_errorf(POL_ERR_FORMAT,
                          "ledger %s: not a libpol ledger (application_id %#" PRIx64 ")", path,
                          (uint64_t)app);

    rc = sqlite3_prepare_v2(db, "SELECT name, value FROM meta WHERE name IN "
                                "('schema_version', 'genesis') ORDER BY name",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        pol_status s = rc == SQLITE_ERROR
                           ? pol_errorf(POL_ERR_FORMAT, "ledger %s: no meta table: %s", path,
                                        sqlite3_errmsg(db))
                           : sql_err(db, rc, "read meta");
        return s;
    }
    int have_version = 0, have_genesis = 0;
    pol_status s = POL_OK;
    for (;;) {
        s = step(db, st, &row);
        if (s || !row)
            break;
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (name && strcmp(name, "genesis") == 0) {
            s = col_copy(st, 1, POL_LEDGER_MAX_GENESIS, "genesis", &l->genesis, &l->genesis_len);
            have_genesis = 1;
        } else {
            int64_t v = sqlite3_column_int64(st, 1);
            if (sqlite3_column_type(st, 1) != SQLITE_INTEGER || v < 1)
                s = pol_errorf(POL_ERR_FORMAT, "ledger %s: bad schema_version", path);
            else if (v > POL_LEDGER_SCHEMA_VERSION)
                s = pol_errorf(POL_ERR_FORMAT,
                               "ledger %s: schema version %" PRId64
                               " is newer than this build's (%d)",
                               path, v, POL_LEDGER_SCHEMA_VERSION);
            have_version = 1;
        }
        if (s)
            break;
    }
    sqlite3_finalize(st);
    if (!s && (!have_version || !have_genesis))
        s = pol_errorf(POL_ERR_FORMAT, "ledger %s: meta lacks schema_version or genesis", path);
    return s;
}

/* Sets the connection's durability settings. journal_mode=WAL writes the
 * file header, so it runs only after the identity check. */
static pol_status configure(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(db, "PRAGMA journal_mode=WAL", &st));
    pol_status s = step(db, st, &row);
    if (!s) {
        const char *mode = row ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (!mode || strcmp(mode, "wal") != 0)
            s = pol_errorf(POL_ERR_IO, "ledger: journal_mode is %s, not wal",
                           mode ? mode : "(none)");
    }
    sqlite3_finalize(st);
    if (!s)
        s = exec(db, "PRAGMA synchronous=FULL", "synchronous");
    if (!s)
        s = exec(db, "PRAGMA foreign_keys=ON", "foreign_keys");
    return s;
}

pol_status pol_ledger_open(const char *path, const uint8_t *genesis, size_t genesis_len,
                           pol_ledger **out)
{
    if (!out)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_open: NULL output");
    *out = NULL;
    if (!path || !*path)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_open: empty path");
    if (sqlite3_libversion_number() < 3037000)
        return pol_errorf(POL_ERR_UNSUPPORTED, "ledger: SQLite %s lacks STRICT tables (3.37+)",
                          sqlite3_libversion());
    if (genesis && genesis_len > POL_LEDGER_MAX_GENESIS)
        return pol_errorf(POL_ERR_TOO_LARGE, "ledger: genesis of %zu bytes exceeds cap %u",
                          genesis_len, POL_LEDGER_MAX_GENESIS);

    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno != ENOENT)
            return pol_errorf(POL_ERR_IO, "ledger: stat %s: %s", path, strerror(errno));
        if (!genesis)
            return pol_errorf(POL_ERR_NOT_FOUND, "ledger %s: no such file, and no genesis to "
                                                 "create it with",
                              path);
        POL_TRY(create_file(path, genesis, genesis_len));
    }

    pol_ledger *l = calloc(1, sizeof *l);
    if (!l)
        return pol_errorf(POL_ERR_NOMEM, "ledger: handle");
    int rc = sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE, NULL);
    pol_status s = rc == SQLITE_OK ? POL_OK : sql_err(l->db, rc, "open");
    if (!s)
        s = bind_check(l->db, sqlite3_busy_timeout(l->db, POL_LEDGER_BUSY_MS));
    if (!s)
        s = check_identity(l, path);
    if (!s && genesis &&
        (genesis_len != l->genesis_len ||
         (genesis_len && memcmp(genesis, l->genesis, genesis_len) != 0)))
        s = pol_errorf(POL_ERR_MISMATCH,
                       "ledger %s: the given genesis (%zu bytes) differs from the stored one "
                       "(%zu bytes)",
                       path, genesis_len, l->genesis_len);
    if (!s)
        s = configure(l->db);
    if (s) {
        pol_ledger_close(l);
        return s;
    }
    *out = l;
    return POL_OK;
}

void pol_ledger_close(pol_ledger *l)
{
    if (!l)
        return;
    sqlite3_close(l->db);
    free(l->genesis);
    free(l);
}

void pol_ledger_genesis(const pol_ledger *l, const uint8_t **bytes, size_t *len)
{
    *bytes = l->genesis;
    *len = l->genesis_len;
}

/* -------------------------------------------------------------- events */

static pol_status check_kind(const char *kind)
{
    if (!kind)
        return pol_errorf(POL_ERR_INVALID_ARG, "ledger: NULL projection kind");
    size_t n = strnlen(kind, POL_LEDGER_MAX_KIND + 1);
    if (n == 0 || n > POL_LEDGER_MAX_KIND)
        return pol_errorf(POL_ERR_INVALID_ARG, "ledger: projection kind must be 1..%u bytes",
                          POL_LEDGER_MAX_KIND);
    for (size_t i = 0; i < n; i++) {
        char c = kind[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return pol_errorf(POL_ERR_INVALID_ARG,
                              "ledger: projection kind \"%s\" outside [a-z0-9_]", kind);
    }
    return POL_OK;
}

static pol_status check_key(const uint8_t *key, size_t key_len)
{
    if (key_len > POL_LEDGER_MAX_KEY)
        return pol_errorf(POL_ERR_TOO_LARGE, "ledger: projection key of %zu bytes exceeds cap %u",
                          key_len, POL_LEDGER_MAX_KEY);
    if (key_len && !key)
        return pol_errorf(POL_ERR_INVALID_ARG, "ledger: NULL projection key");
    return POL_OK;
}

static pol_status check_row(const pol_ledger_row *r)
{
    POL_TRY(check_kind(r->kind));
    POL_TRY(check_key(r->key, r->key_len));
    if (r->value && strnlen(r->value, POL_LEDGER_MAX_VALUE + 1) > POL_LEDGER_MAX_VALUE)
        return pol_errorf(POL_ERR_TOO_LARGE, "ledger: projection value exceeds cap %u bytes",
                          POL_LEDGER_MAX_VALUE);
    return POL_OK;
}

/* The seq an action id already has: POL_OK with *seq, or *seq = 0. */
static pol_status lookup_id(sqlite3 *db, const pol_digest *id, uint64_t *seq)
{
    sqlite3_stmt *st = NULL;
    int row = 0;
    *seq = 0;
    POL_TRY(prep(db, "SELECT seq FROM events WHERE id = ?1", &st));
    pol_status s = bind_check(db, sqlite3_bind_blob(st, 1, id->b, 32, SQLITE_STATIC));
    if (!s)
        s = step(db, st, &row);
    if (!s && row)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return s;
}

static pol_status read_head(sqlite3 *db, uint64_t *seq, uint64_t *time_ms)
{
    sqlite3_stmt *st = NULL;
    int row = 0;
    *seq = 0;
    *time_ms = 0;
    POL_TRY(prep(db, "SELECT seq, time_ms FROM events ORDER BY seq DESC LIMIT 1", &st));
    pol_status s = step(db, st, &row);
    if (!s && row) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        *time_ms = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return s;
}

static pol_status write_row(sqlite3 *db, const pol_ledger_row *r, uint64_t seq)
{
    sqlite3_stmt *st = NULL;
    int row = 0;
    if (r->value)
        POL_TRY(prep(db,
                     "INSERT INTO projection(kind, key, value, seq) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value, "
                     "seq = excluded.seq",
                     &st));
    else
        POL_TRY(prep(db, "DELETE FROM projection WHERE kind = ?1 AND key = ?2", &st));
    int rc = sqlite3_bind_text(st, 1, r->kind, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_bytes(st, 2, r->key, r->key_len);
    if (rc == SQLITE_OK && r->value)
        rc = sqlite3_bind_text(st, 3, r->value, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && r->value)
        rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)seq);
    pol_status s = bind_check(db, rc);
    if (!s)
        s = step(db, st, &row);
    sqlite3_finalize(st);
    return s;
}

/* The body of pol_ledger_append, inside its transaction. */
static pol_status append_tx(sqlite3 *db, uint64_t time_ms, const uint8_t *action,
                            size_t action_len, const pol_digest *id, const pol_ledger_row *rows,
                            size_t n_rows, uint64_t *seq)
{
    if (id) {
        uint64_t have;
        POL_TRY(lookup_id(db, id, &have));
        if (have) {
            *seq = have;
            char hex[POL_DIGEST_HEX_LEN + 1];
            pol_digest_to_hex(id, hex);
            return pol_errorf(POL_ERR_EXISTS, "ledger: action %s is already event %" PRIu64, hex,
                              have);
        }
    }
    uint64_t last, last_time;
    POL_TRY(read_head(db, &last, &last_time));
    if (time_ms < last_time)
        return pol_errorf(POL_ERR_INVALID_ARG,
                          "ledger: time %" PRIu64 " ms is before event %" PRIu64 "'s %" PRIu64
                          " ms",
                          time_ms, last, last_time);

    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(db, "INSERT INTO events(seq, time_ms, action, id) VALUES (?1, ?2, ?3, ?4)", &st));
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)(last + 1));
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)time_ms);
    if (rc == SQLITE_OK)
        rc = bind_bytes(st, 3, action, action_len);
    if (rc == SQLITE_OK)
        rc = id ? sqlite3_bind_blob(st, 4, id->b, 32, SQLITE_STATIC) : sqlite3_bind_null(st, 4);
    pol_status s = bind_check(db, rc);
    if (!s)
        s = step(db, st, &row);
    sqlite3_finalize(st);
    for (size_t i = 0; !s && i < n_rows; i++)
        s = write_row(db, &rows[i], last + 1);
    if (!s)
        *seq = last + 1;
    return s;
}

pol_status pol_ledger_append(pol_ledger *l, uint64_t time_ms, const uint8_t *action,
                             size_t action_len, const pol_digest *id, const pol_ledger_row *rows,
                             size_t n_rows, uint64_t *seq)
{
    if (!seq)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_append: NULL seq");
    *seq = 0;
    if (!l || (action_len && !action) || (n_rows && !rows))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_append: NULL argument");
    if (time_ms > INT64_MAX)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_append: time %" PRIu64 " too large",
                          time_ms);
    if (action_len > POL_LEDGER_MAX_ACTION)
        return pol_errorf(POL_ERR_TOO_LARGE, "ledger: action of %zu bytes exceeds cap %u",
                          action_len, POL_LEDGER_MAX_ACTION);
    if (n_rows > POL_LEDGER_MAX_ROWS)
        return pol_errorf(POL_ERR_TOO_LARGE, "ledger: %zu projection rows exceed cap %u", n_rows,
                          POL_LEDGER_MAX_ROWS);
    for (size_t i = 0; i < n_rows; i++)
        POL_TRY(check_row(&rows[i]));
    if (action_len == 0) {
        if (id && !is_zero(id))
            return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_append: a tick has no id");
        id = NULL;
    } else {
        if (!id)
            return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_append: an action needs its id");
        pol_digest h;
        POL_TRY(pol_sha256(action, action_len, &h));
        if (!pol_digest_equal(&h, id))
            return pol_errorf(POL_ERR_HASH_MISMATCH,
                              "pol_ledger_append: id is not the SHA-256 of the action");
    }

    POL_TRY(tx_begin(l->db));
    pol_status s = append_tx(l->db, time_ms, action, action_len, id, rows, n_rows, seq);
    if (!s)
        s = tx_commit(l->db);
    if (s) {
        tx_rollback(l->db);
        if (s != POL_ERR_EXISTS)
            *seq = 0;
    }
    return s;
}

pol_status pol_ledger_head(pol_ledger *l, uint64_t *seq, uint64_t *time_ms)
{
    if (!seq || !time_ms)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_head: NULL output");
    *seq = 0;
    *time_ms = 0;
    if (!l)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_head: NULL ledger");
    pol_status s = read_head(l->db, seq, time_ms);
    if (s) {
        *seq = 0;
        *time_ms = 0;
    }
    return s;
}

pol_status pol_ledger_event(pol_ledger *l, uint64_t seq, uint64_t *time_ms, uint8_t **action,
                            size_t *action_len, pol_digest *id)
{
    if (!time_ms || !action || !action_len || !id)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_event: NULL output");
    *time_ms = 0;
    *action = NULL;
    *action_len = 0;
    memset(id, 0, sizeof *id);
    if (!l)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_event: NULL ledger");
    if (seq == 0 || seq > INT64_MAX)
        return pol_errorf(POL_ERR_NOT_FOUND, "ledger: no event %" PRIu64, seq);

    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(l->db, "SELECT time_ms, action, id FROM events WHERE seq = ?1", &st));
    pol_status s = bind_check(l->db, sqlite3_bind_int64(st, 1, (sqlite3_int64)seq));
    if (!s)
        s = step(l->db, st, &row);
    if (!s && !row)
        s = pol_errorf(POL_ERR_NOT_FOUND, "ledger: no event %" PRIu64, seq);
    if (!s)
        s = col_id(st, 2, id);
    if (!s)
        s = col_copy(st, 1, POL_LEDGER_MAX_ACTION, "action", action, action_len);
    if (!s)
        *time_ms = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (s) {
        free(*action);
        *action = NULL;
        *action_len = 0;
        memset(id, 0, sizeof *id);
    }
    return s;
}

pol_status pol_ledger_events(pol_ledger *l, uint64_t from_seq, uint64_t max,
                             pol_ledger_event_fn fn, void *ctx, uint64_t *n)
{
    if (!n)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_events: NULL count");
    *n = 0;
    if (!l || !fn)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_events: NULL argument");
    if (from_seq == 0)
        from_seq = 1;
    if (from_seq > INT64_MAX)
        return POL_OK;

    /* One statement reads from one snapshot of the WAL. */
    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(l->db,
                 "SELECT seq, time_ms, action, id FROM events WHERE seq >= ?1 "
                 "ORDER BY seq LIMIT ?2",
                 &st));
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)from_seq);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, max == 0 || max > INT64_MAX ? -1 : (sqlite3_int64)max);
    pol_status s = bind_check(l->db, rc);
    uint64_t want = from_seq;
    while (!s) {
        s = step(l->db, st, &row);
        if (s || !row)
            break;
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (seq != want) {
            s = pol_errorf(POL_ERR_FORMAT, "ledger: event %" PRIu64 " missing (next is %" PRIu64
                                           ")",
                           want, seq);
            break;
        }
        pol_digest id;
        s = col_id(st, 3, &id);
        if (s)
            break;
        if (sqlite3_column_type(st, 2) != SQLITE_BLOB) {
            s = pol_errorf(POL_ERR_FORMAT, "ledger: event %" PRIu64 " action is not a blob",
                           seq);
            break;
        }
        const uint8_t *a = sqlite3_column_blob(st, 2);
        int alen = sqlite3_column_bytes(st, 2);
        if (alen < 0 || (size_t)alen > POL_LEDGER_MAX_ACTION) {
            s = pol_errorf(POL_ERR_FORMAT, "ledger: event %" PRIu64 " action exceeds cap", seq);
            break;
        }
        if (alen > 0 && !a) {
            s = pol_errorf(POL_ERR_NOMEM, "ledger: reading event %" PRIu64, seq);
            break;
        }
        s = fn(ctx, seq, (uint64_t)sqlite3_column_int64(st, 1), alen ? a : NULL, (size_t)alen,
               &id);
        if (!s)
            (*n)++;
        want++;
    }
    sqlite3_finalize(st);
    return s;
}

pol_status pol_ledger_find(pol_ledger *l, const pol_digest *id, uint64_t *seq)
{
    if (!seq)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_find: NULL output");
    *seq = 0;
    if (!l || !id)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_find: NULL argument");
    POL_TRY(lookup_id(l->db, id, seq));
    if (*seq == 0) {
        char hex[POL_DIGEST_HEX_LEN + 1];
        pol_digest_to_hex(id, hex);
        return pol_errorf(POL_ERR_NOT_FOUND, "ledger: no action %s", hex);
    }
    return POL_OK;
}

pol_status pol_ledger_projection(pol_ledger *l, const char *kind, const uint8_t *key,
                                 size_t key_len, char **value, uint64_t *seq)
{
    if (!value || !seq)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_projection: NULL output");
    *value = NULL;
    *seq = 0;
    if (!l)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_projection: NULL ledger");
    POL_TRY(check_kind(kind));
    POL_TRY(check_key(key, key_len));

    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(l->db, "SELECT value, seq FROM projection WHERE kind = ?1 AND key = ?2", &st));
    int rc = sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_bytes(st, 2, key, key_len);
    pol_status s = bind_check(l->db, rc);
    if (!s)
        s = step(l->db, st, &row);
    if (!s && !row)
        s = pol_errorf(POL_ERR_NOT_FOUND, "ledger: no projection row of kind %s", kind);
    if (!s) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        int tn = sqlite3_column_bytes(st, 0);
        if (!t)
            s = pol_errorf(POL_ERR_NOMEM, "ledger: reading projection value");
        else if (tn < 0 || (size_t)tn > POL_LEDGER_MAX_VALUE)
            s = pol_errorf(POL_ERR_FORMAT, "ledger: stored projection value exceeds cap");
        else if (!(*value = malloc((size_t)tn + 1)))
            s = pol_errorf(POL_ERR_NOMEM, "ledger: projection value");
        else {
            memcpy(*value, t, (size_t)tn);
            (*value)[tn] = '\0';
            *seq = (uint64_t)sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    return s;
}

/* ----------------------------------------------------- dispute journal */

static pol_status check_exchange(const pol_ledger *l, const pol_digest *dispute, uint32_t party,
                                 uint64_t seq)
{
    if (!l || !dispute)
        return pol_errorf(POL_ERR_INVALID_ARG, "ledger journal: NULL argument");
    if (party > 1)
        return pol_errorf(POL_ERR_INVALID_ARG, "ledger journal: party %u is not 0 or 1", party);
    if (seq == 0 || seq > INT64_MAX)
        return pol_errorf(POL_ERR_INVALID_ARG, "ledger journal: seq %" PRIu64 " out of range",
                          seq);
    return POL_OK;
}

static int bind_exchange(sqlite3_stmt *st, const pol_digest *dispute, uint32_t party,
                         uint64_t seq)
{
    int rc = sqlite3_bind_blob(st, 1, dispute->b, 32, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 2, (int)party);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)seq);
    return rc;
}

static int col_equal(sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
    const void *c = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    return sqlite3_column_type(st, i) == SQLITE_BLOB && n >= 0 && (size_t)n == len &&
           (len == 0 || (c && memcmp(c, p, len) == 0));
}

/* The body of pol_ledger_journal_put, inside its transaction. */
static pol_status journal_put_tx(sqlite3 *db, const pol_digest *dispute, uint32_t party,
                                 uint64_t seq, const uint8_t *query, size_t query_len,
                                 const uint8_t *answer, size_t answer_len)
{
    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(db,
                 "SELECT query, answer FROM journal WHERE dispute = ?1 AND party = ?2 "
                 "AND seq = ?3",
                 &st));
    pol_status s = bind_check(db, bind_exchange(st, dispute, party, seq));
    if (!s)
        s = step(db, st, &row);
    if (!s && row) {
        if (!col_equal(st, 0, query, query_len) || !col_equal(st, 1, answer, answer_len))
            s = pol_errorf(POL_ERR_MISMATCH,
                           "ledger journal: exchange %" PRIu64 " of party %u is already stored "
                           "with different bytes",
                           seq, party);
        sqlite3_finalize(st);
        return s; /* the same exchange again: nothing to write [L-JNL-3] */
    }
    sqlite3_finalize(st);
    st = NULL;
    if (s)
        return s;

    POL_TRY(prep(db, "SELECT coalesce(max(seq), 0) FROM journal WHERE dispute = ?1 AND party = ?2",
                 &st));
    int rc = sqlite3_bind_blob(st, 1, dispute->b, 32, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 2, (int)party);
    s = bind_check(db, rc);
    if (!s)
        s = step(db, st, &row);
    uint64_t last = !s && row ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    st = NULL;
    if (s)
        return s;
    if (seq != last + 1)
        return pol_errorf(POL_ERR_INVALID_ARG,
                          "ledger journal: exchange %" PRIu64 " of party %u leaves a gap "
                          "(last is %" PRIu64 ")",
                          seq, party, last);

    POL_TRY(prep(db,
                 "INSERT INTO journal(dispute, party, seq, query, answer) "
                 "VALUES (?1, ?2, ?3, ?4, ?5)",
                 &st));
    rc = bind_exchange(st, dispute, party, seq);
    if (rc == SQLITE_OK)
        rc = bind_bytes(st, 4, query, query_len);
    if (rc == SQLITE_OK)
        rc = bind_bytes(st, 5, answer, answer_len);
    s = bind_check(db, rc);
    if (!s)
        s = step(db, st, &row);
    sqlite3_finalize(st);
    return s;
}

pol_status pol_ledger_journal_put(pol_ledger *l, const pol_digest *dispute, uint32_t party,
                                  uint64_t seq, const uint8_t *query, size_t query_len,
                                  const uint8_t *answer, size_t answer_len)
{
    POL_TRY(check_exchange(l, dispute, party, seq));
    if ((query_len && !query) || (answer_len && !answer))
        return pol_errorf(POL_ERR_INVALID_ARG, "ledger journal: NULL bytes");
    if (query_len > POL_LEDGER_MAX_JOURNAL || answer_len > POL_LEDGER_MAX_JOURNAL)
        return pol_errorf(POL_ERR_TOO_LARGE, "ledger journal: query or answer exceeds cap %u",
                          POL_LEDGER_MAX_JOURNAL);
    POL_TRY(tx_begin(l->db));
    pol_status s = journal_put_tx(l->db, dispute, party, seq, query, query_len, answer,
                                  answer_len);
    if (!s)
        s = tx_commit(l->db);
    if (s)
        tx_rollback(l->db);
    return s;
}

pol_status pol_ledger_journal_get(pol_ledger *l, const pol_digest *dispute, uint32_t party,
                                  uint64_t seq, uint8_t **query, size_t *query_len,
                                  uint8_t **answer, size_t *answer_len)
{
    if (!query || !query_len || !answer || !answer_len)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_journal_get: NULL output");
    *query = *answer = NULL;
    *query_len = *answer_len = 0;
    POL_TRY(check_exchange(l, dispute, party, seq));

    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(l->db,
                 "SELECT query, answer FROM journal WHERE dispute = ?1 AND party = ?2 "
                 "AND seq = ?3",
                 &st));
    pol_status s = bind_check(l->db, bind_exchange(st, dispute, party, seq));
    if (!s)
        s = step(l->db, st, &row);
    if (!s && !row)
        s = pol_errorf(POL_ERR_NOT_FOUND, "ledger journal: no exchange %" PRIu64 " of party %u",
                       seq, party);
    if (!s)
        s = col_copy(st, 0, POL_LEDGER_MAX_JOURNAL, "query", query, query_len);
    if (!s)
        s = col_copy(st, 1, POL_LEDGER_MAX_JOURNAL, "answer", answer, answer_len);
    sqlite3_finalize(st);
    if (s) {
        free(*query);
        free(*answer);
        *query = *answer = NULL;
        *query_len = *answer_len = 0;
    }
    return s;
}

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Hashes one BLOB column as u64le length || bytes. */
static pol_status hash_field(pol_sha256_ctx *h, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) != SQLITE_BLOB)
        return pol_errorf(POL_ERR_FORMAT, "ledger journal: stored field is not a blob");
    const void *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    if (n < 0 || (size_t)n > POL_LEDGER_MAX_JOURNAL)
        return pol_errorf(POL_ERR_FORMAT, "ledger journal: stored field exceeds cap");
    if (n > 0 && !p)
        return pol_errorf(POL_ERR_NOMEM, "ledger journal: reading a field");
    uint8_t len[8];
    put_u64le(len, (uint64_t)n);
    POL_TRY(pol_sha256_update(h, len, 8));
    return pol_sha256_update(h, p, (size_t)n);
}

static pol_status journal_digest_rows(sqlite3 *db, sqlite3_stmt *st, pol_sha256_ctx *h,
                                      uint64_t *count)
{
    uint64_t want[2] = {1, 1};
    int row = 0;
    for (;;) {
        POL_TRY(step(db, st, &row));
        if (!row)
            return POL_OK;
        int64_t party = sqlite3_column_int64(st, 0);
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 1);
        if (party < 0 || party > 1 || seq != want[party])
            return pol_errorf(POL_ERR_FORMAT, "ledger journal: stored exchanges have a gap");
        want[party]++;
        uint8_t head[9];
        head[0] = (uint8_t)party;
        put_u64le(head + 1, seq);
        POL_TRY(pol_sha256_update(h, head, sizeof head));
        POL_TRY(hash_field(h, st, 2));
        POL_TRY(hash_field(h, st, 3));
        (*count)++;
    }
}

pol_status pol_ledger_journal_digest(pol_ledger *l, const pol_digest *dispute,
                                     pol_digest *digest, uint64_t *count)
{
    if (!digest || !count)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_journal_digest: NULL output");
    memset(digest, 0, sizeof *digest);
    *count = 0;
    if (!l || !dispute)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_journal_digest: NULL argument");

    pol_sha256_ctx *h = NULL;
    POL_TRY(pol_sha256_new(&h));
    sqlite3_stmt *st = NULL;
    pol_status s = pol_sha256_update(h, JOURNAL_TAG, sizeof JOURNAL_TAG); /* with the NUL */
    if (!s)
        s = pol_sha256_update(h, dispute->b, 32);
    if (!s)
        s = prep(l->db,
                 "SELECT party, seq, query, answer FROM journal WHERE dispute = ?1 "
                 "ORDER BY party, seq",
                 &st);
    if (!s)
        s = bind_check(l->db, sqlite3_bind_blob(st, 1, dispute->b, 32, SQLITE_STATIC));
    if (!s)
        s = journal_digest_rows(l->db, st, h, count);
    if (!s)
        s = pol_sha256_final(h, digest);
    sqlite3_finalize(st);
    pol_sha256_free(h);
    if (s) {
        memset(digest, 0, sizeof *digest);
        *count = 0;
    }
    return s;
}

/* --------------------------------------------------------------- blobs */

pol_status pol_ledger_blob_put(pol_ledger *l, const uint8_t *data, size_t len, pol_digest *hash)
{
    if (!hash)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_blob_put: NULL output");
    memset(hash, 0, sizeof *hash);
    if (!l || (len && !data))
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_blob_put: NULL argument");
    if (len > POL_LEDGER_MAX_BLOB)
        return pol_errorf(POL_ERR_TOO_LARGE, "ledger: blob of %zu bytes exceeds cap %u", len,
                          POL_LEDGER_MAX_BLOB);
    pol_digest h;
    POL_TRY(pol_sha256(data, len, &h));

    /* One statement: its own transaction. */
    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(l->db,
                 "INSERT INTO blobs(hash, data) VALUES (?1, ?2) ON CONFLICT(hash) DO NOTHING",
                 &st));
    int rc = sqlite3_bind_blob(st, 1, h.b, 32, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_bytes(st, 2, data, len);
    pol_status s = bind_check(l->db, rc);
    if (!s)
        s = step(l->db, st, &row);
    sqlite3_finalize(st);
    if (!s)
        *hash = h;
    return s;
}

pol_status pol_ledger_blob_get(pol_ledger *l, const pol_digest *hash, uint8_t **data,
                               size_t *len)
{
    if (!data || !len)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_blob_get: NULL output");
    *data = NULL;
    *len = 0;
    if (!l || !hash)
        return pol_errorf(POL_ERR_INVALID_ARG, "pol_ledger_blob_get: NULL argument");

    char hex[POL_DIGEST_HEX_LEN + 1];
    pol_digest_to_hex(hash, hex);
    sqlite3_stmt *st = NULL;
    int row = 0;
    POL_TRY(prep(l->db, "SELECT data FROM blobs WHERE hash = ?1", &st));
    pol_status s = bind_check(l->db, sqlite3_bind_blob(st, 1, hash->b, 32, SQLITE_STATIC));
    if (!s)
        s = step(l->db, st, &row);
    if (!s && !row)
        s = pol_errorf(POL_ERR_NOT_FOUND, "ledger: no blob %s", hex);
    if (!s)
        s = col_copy(st, 0, POL_LEDGER_MAX_BLOB, "blob", data, len);
    sqlite3_finalize(st);
    pol_digest h;
    if (!s)
        s = pol_sha256(*data, *len, &h);
    if (!s && !pol_digest_equal(&h, hash))
        s = pol_errorf(POL_ERR_HASH_MISMATCH, "ledger: stored blob %s does not match its hash",
                       hex);
    if (s) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return s;
}
