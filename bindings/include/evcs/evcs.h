/*
 * evcs.h — the stable C ABI of evcs (versioned entities on PostgreSQL).
 *
 * Conventions (docs/c-abi.md has the long form):
 *  - Every function returns an int status: EVCS_OK (0) on success, a negative EVCS_E* code on
 *    failure. Details of the last failure on the calling thread: evcs_error_last_*().
 *  - Out-parameters come first, then the object acted on, then inputs.
 *  - Objects returned through `T **out` are freed with evcs_<T>_free (NULL-safe). Children keep
 *    their parent alive, so objects may be freed in any order.
 *  - Strings the library allocates (`char **out`) are freed with evcs_free.
 *  - Borrowed `const char *` results live as long as the object they came from.
 *  - No C++ exception ever crosses this boundary; NULL handles return EVCS_EMISUSE.
 *  - Thread contract: an engine is thread-safe; a session belongs to one thread (or one task)
 *    at a time, and concurrent use is detected and fails with EVCS_EMISUSE.
 */
#ifndef EVCS_H
#define EVCS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EVCS_API __attribute__((visibility("default")))
#else
#define EVCS_API
#endif

#define EVCS_VERSION_MAJOR 0
#define EVCS_VERSION_MINOR 1
#define EVCS_VERSION_PATCH 0
#define EVCS_VERSION_STRING "0.1.0"

/* Status codes. The error classes mirror the hierarchy of docs/errors.md. */
#define EVCS_OK 0
#define EVCS_ERROR -1                   /* Error: anything not covered below */
#define EVCS_ENOTFOUND -2               /* NotFound */
#define EVCS_ECONFLICT -3               /* Conflict */
#define EVCS_EMERGECONFLICT -4          /* MergeConflict (a Conflict) */
#define EVCS_ECONCURRENT -5             /* ConcurrentModification (a Conflict) */
#define EVCS_ELOCKED -6                 /* BranchLocked */
#define EVCS_EINTEGRITY -7              /* IntegrityError */
#define EVCS_EINVALID -8                /* InvalidArgument */
#define EVCS_ETIMEOUT -9                /* PoolTimeout */
#define EVCS_ECONNLOST -10              /* ConnectionLost */
#define EVCS_ESERIALIZATION -11         /* SerializationFailure (retryable) */
#define EVCS_EMIGRATION -12             /* MigrationError */
#define EVCS_EMISUSE -13                /* MisuseError */
#define EVCS_ITEROVER -31               /* an iterator has no more items (not an error) */
#define EVCS_PENDING -32                /* a future is still running (not an error): wait again */

/* Column types of a result (evcs_result_column_type). */
#define EVCS_TYPE_TEXT 0      /* text, varchar, and any type without a closer match */
#define EVCS_TYPE_INT64 1     /* int2, int4, int8, oid */
#define EVCS_TYPE_DOUBLE 2    /* float4, float8; in JSON records NaN and infinities are "NaN", "Infinity", "-Infinity" */
#define EVCS_TYPE_BOOL 3
#define EVCS_TYPE_BYTES 4     /* bytea */
#define EVCS_TYPE_TIMESTAMP 5 /* timestamptz, timestamp: UTC microseconds since 1970-01-01 */
#define EVCS_TYPE_NUMERIC 6   /* numeric: exact decimal text */
#define EVCS_TYPE_JSON 7      /* json, jsonb: JSON text */
#define EVCS_TYPE_UUID 8      /* uuid: canonical text */
#define EVCS_TYPE_DATE 9      /* date: ISO text YYYY-MM-DD */
#define EVCS_TYPE_TEXT_ARRAY 10 /* text[] / varchar[]: a JSON array via evcs_result_get_json */
#define EVCS_TYPE_INT_ARRAY 11 /* int2[] / int4[] / int8[]: a JSON array via evcs_result_get_json */

typedef struct evcs_options evcs_options;
typedef struct evcs_engine evcs_engine;
typedef struct evcs_session evcs_session;
typedef struct evcs_transaction evcs_transaction;
typedef struct evcs_params evcs_params;
typedef struct evcs_result evcs_result;
typedef struct evcs_embedded evcs_embedded;
typedef struct evcs_repository evcs_repository;

/* ---- library ---------------------------------------------------------------------------- */

/* The runtime version, e.g. "0.1.0". Static storage. */
EVCS_API const char *evcs_version(void);
/* Frees a string the library allocated. NULL-safe. */
EVCS_API void evcs_free(void *ptr);

/* ---- errors ------------------------------------------------------------------------------ */

/* The last failure on this thread. The strings are valid until the next evcs call on this
 * thread; they are "" (never NULL) when there is nothing to report. */
EVCS_API int evcs_error_last_code(void);
EVCS_API const char *evcs_error_last_message(void);
EVCS_API const char *evcs_error_last_sqlstate(void);
/* Whether the last failure may be retried by re-running the whole transaction
 * (serialization failure, deadlock, connection lost before the outcome was in doubt). */
EVCS_API int evcs_error_last_retryable(void);
/* Extra detail as JSON text ("null" if none); a MergeConflict carries its conflict list here. */
EVCS_API const char *evcs_error_last_detail(void);
EVCS_API void evcs_error_clear(void);
/* The stable short name of a status code ("not_found", "pool_timeout", ...). Static storage. */
EVCS_API const char *evcs_error_code_name(int code);
/* Sets the calling thread's last error; for callbacks that report a failure back into the
 * library (run_in_transaction). Serialization failures are retryable, and so are lost
 * connections unless `sqlstate` is "08007" (lost during COMMIT: outcome in doubt).
 * Returns `code`. */
EVCS_API int evcs_error_set(int code, const char *sqlstate, const char *message);

/* ---- options ------------------------------------------------------------------------------ */

/* Key/value options with discovery, so new options never break the ABI.
 * Engine keys: url, pool_size, max_overflow, pool_timeout (seconds, fractional),
 *   pool_recycle (seconds; "" or "none" = never), pool_pre_ping (true/false), echo (true/false),
 *   statement_cache_size, application_name.
 * Embedded keys: data_dir, persist (true/false), port (0 = Unix socket only).
 * An unknown key or a value of the wrong form fails with EVCS_EINVALID naming the key. */
EVCS_API int evcs_options_new(evcs_options **out);
EVCS_API int evcs_options_set(evcs_options *options, const char *key, const char *value);
/* Borrowed; NULL if the key is unset. */
EVCS_API int evcs_options_get(const char **out, const evcs_options *options, const char *key);
/* The i-th known engine option name (for discovery); EVCS_ITEROVER past the end. */
EVCS_API int evcs_options_known_key(const char **out, size_t index);
EVCS_API void evcs_options_free(evcs_options *options);

/* ---- engine ------------------------------------------------------------------------------ */

/* Opens an engine (a connection pool). `options` may be NULL. Without a url and without
 * DATABASE_URL in the environment, the embedded default server is started (docs/embedded.md). */
EVCS_API int evcs_engine_open(evcs_engine **out, const evcs_options *options);
/* Closes the pool's idle connections and releases the engine. NULL-safe. Sessions still open
 * keep the engine alive until they are freed; so do migration runners (the idle connections
 * then close when the last runner is freed). */
EVCS_API void evcs_engine_free(evcs_engine *engine);
/* The URL the engine connects to, with any password masked. Borrowed. */
EVCS_API int evcs_engine_url(const char **out, const evcs_engine *engine);
/* Pool figures: connections kept (idle + in use), checked out, overflow in use. */
EVCS_API int evcs_engine_pool_status(int64_t *size, int64_t *checked_out, int64_t *overflow,
                                     const evcs_engine *engine);
/* Closes every idle pooled connection (in-use ones are closed when returned). */
EVCS_API int evcs_engine_dispose(evcs_engine *engine);
/* One statement in autocommit mode, outside any session: a pooled connection is checked out,
 * the statement runs in its own implicit transaction (one round trip, no BEGIN/COMMIT), and the
 * connection goes back. `params` may be NULL. The result is owned by the caller. */
EVCS_API int evcs_engine_execute(evcs_result **out, evcs_engine *engine, const char *sql,
                                 const evcs_params *params);
/* Receives echo lines (statement, parameter count, duration). Without a callback echo goes to
 * stderr. The callback may run on any thread. */
typedef void (*evcs_log_callback)(void *payload, const char *line);
EVCS_API int evcs_engine_set_log_callback(evcs_engine *engine, evcs_log_callback callback,
                                          void *payload);

/* ---- parameters -------------------------------------------------------------------------- */

/* Server-side parameters for $1, $2, ... in order of the add calls. */
EVCS_API int evcs_params_new(evcs_params **out);
EVCS_API int evcs_params_add_null(evcs_params *params);
EVCS_API int evcs_params_add_int64(evcs_params *params, int64_t value);
EVCS_API int evcs_params_add_double(evcs_params *params, double value);
EVCS_API int evcs_params_add_bool(evcs_params *params, int value);
/* UTF-8 text; invalid UTF-8 fails with EVCS_EINVALID. `length` < 0 means NUL-terminated. */
EVCS_API int evcs_params_add_text(evcs_params *params, const char *value, int64_t length);
EVCS_API int evcs_params_add_bytes(evcs_params *params, const void *value, size_t length);
/* UTC microseconds since 1970-01-01. */
EVCS_API int evcs_params_add_timestamp(evcs_params *params, int64_t micros);
/* JSON text, sent as jsonb-compatible text; must be valid JSON. */
EVCS_API int evcs_params_add_json(evcs_params *params, const char *json);
EVCS_API int evcs_params_count(size_t *out, const evcs_params *params);
EVCS_API int evcs_params_clear(evcs_params *params);
EVCS_API void evcs_params_free(evcs_params *params);

/* ---- session ----------------------------------------------------------------------------- */

/* A unit of work. The connection is checked out at the first statement, and a transaction is
 * begun implicitly by it. `branch` NULL = "main"; `author` may be NULL. */
EVCS_API int evcs_session_open(evcs_session **out, evcs_engine *engine, const char *branch,
                               const char *author);
/* Rolls back anything uncommitted, returns the connection, and frees. NULL-safe. */
EVCS_API void evcs_session_free(evcs_session *session);
/* Commits the current transaction (if any). `message` (may be NULL) is recorded in the commit
 * log when the transaction wrote versions. */
EVCS_API int evcs_session_commit(evcs_session *session, const char *message);
EVCS_API int evcs_session_rollback(evcs_session *session);
/* Rolls back anything uncommitted and returns the connection; the session stays usable. */
EVCS_API int evcs_session_close(evcs_session *session);
EVCS_API int evcs_session_in_transaction(int *out, const evcs_session *session);
/* Autocommit mode (`on` non-zero): outside evcs_session_begin, each statement is its own
 * transaction and each repository write commits by itself in one round trip (stamped by the
 * write, logged without a message); create_branch, merge and create_many still land whole.
 * EVCS_EMISUSE while a transaction is in progress. Off by default. */
EVCS_API int evcs_session_set_autocommit(evcs_session *session, int on);
EVCS_API int evcs_session_autocommit(int *out, const evcs_session *session);
EVCS_API int evcs_session_branch(const char **out, const evcs_session *session);
EVCS_API int evcs_session_author(const char **out, const evcs_session *session);
/* The backend process id of the session's connection, or 0 when none is checked out. */
EVCS_API int evcs_session_backend_pid(int64_t *out, const evcs_session *session);

/* Raw SQL with server-side parameters ($1, $2, ...); `params` may be NULL. Prepared statements
 * are cached per connection. */
EVCS_API int evcs_session_execute(evcs_result **out, evcs_session *session, const char *sql,
                                  const evcs_params *params);

/* An explicit transaction (BEGIN) or a nested one (SAVEPOINT). Freeing a still-active
 * transaction rolls it back. */
EVCS_API int evcs_session_begin(evcs_transaction **out, evcs_session *session);
EVCS_API int evcs_session_begin_nested(evcs_transaction **out, evcs_session *session);
EVCS_API int evcs_transaction_commit(evcs_transaction *transaction);
EVCS_API int evcs_transaction_rollback(evcs_transaction *transaction);
EVCS_API int evcs_transaction_is_active(int *out, const evcs_transaction *transaction);
EVCS_API void evcs_transaction_free(evcs_transaction *transaction);

/* Runs `body` in a transaction and commits; on a retryable failure (see
 * evcs_error_last_retryable) rolls back and runs it again, up to `attempts` times in all.
 * `body` returns EVCS_OK or the status of the call that failed (or, for its own failure, the
 * value of evcs_error_set). Never retries when the outcome of COMMIT is in doubt. */
typedef int (*evcs_transaction_body)(void *payload, evcs_session *session);
EVCS_API int evcs_session_run_in_transaction(evcs_session *session, int attempts,
                                             evcs_transaction_body body, void *payload);

/* ---- async ------------------------------------------------------------------------------- */

/* Async calls return EVCS_OK once the work is queued (or an error without queueing it). The
 * callback then runs exactly once, on the engine's I/O thread, with the status; on failure
 * evcs_error_last_*() inside the callback describe it. A result passed to a callback is owned
 * by the receiver (free it with evcs_result_free); it is NULL on failure.
 * While an async call is pending the session is in use: any other call on it fails with
 * EVCS_EMISUSE. Callbacks must not block. */
typedef void (*evcs_result_callback)(void *payload, int status, evcs_result *result);
typedef void (*evcs_status_callback)(void *payload, int status);
EVCS_API int evcs_session_execute_async(evcs_session *session, const char *sql,
                                        const evcs_params *params, evcs_result_callback callback,
                                        void *payload);
EVCS_API int evcs_session_commit_async(evcs_session *session, const char *message,
                                       evcs_status_callback callback, void *payload);
EVCS_API int evcs_session_rollback_async(evcs_session *session, evcs_status_callback callback,
                                         void *payload);
EVCS_API int evcs_session_close_async(evcs_session *session, evcs_status_callback callback,
                                      void *payload);
/* evcs_engine_execute, asynchronously: the checkout waits on the I/O thread; any number may be
 * in flight at once, sharing the pool. */
EVCS_API int evcs_engine_execute_async(evcs_engine *engine, const char *sql,
                                       const evcs_params *params, evcs_result_callback callback,
                                       void *payload);
EVCS_API int evcs_transaction_commit_async(evcs_transaction *transaction,
                                           evcs_status_callback callback, void *payload);
EVCS_API int evcs_transaction_rollback_async(evcs_transaction *transaction,
                                             evcs_status_callback callback, void *payload);

/* Futures: the same async work for callers that cannot take a callback on another thread
 * (Lua, simple C programs). The session is in use until the future completes. */
typedef struct evcs_future evcs_future;
EVCS_API int evcs_session_execute_future(evcs_future **out, evcs_session *session, const char *sql,
                                         const evcs_params *params);
EVCS_API int evcs_engine_execute_future(evcs_future **out, evcs_engine *engine, const char *sql,
                                        const evcs_params *params);
EVCS_API int evcs_session_commit_future(evcs_future **out, evcs_session *session,
                                        const char *message);
EVCS_API int evcs_session_rollback_future(evcs_future **out, evcs_session *session);
EVCS_API int evcs_future_ready(int *out, const evcs_future *future);
/* Waits up to `timeout_seconds` (< 0: forever). Returns the operation's status and its result
 * (owned by the caller; NULL on failure and for commit/rollback, which have none), or
 * EVCS_PENDING if it is still running (call again). `out` may be NULL to discard the result.
 * A future's result can be taken once; later waits fail with EVCS_EMISUSE. */
EVCS_API int evcs_future_wait(evcs_result **out, evcs_future *future, double timeout_seconds);
/* Frees the future; if still running, the work completes and its result is discarded. */
EVCS_API void evcs_future_free(evcs_future *future);

/* ---- results ----------------------------------------------------------------------------- */

EVCS_API int evcs_result_row_count(int64_t *out, const evcs_result *result);
EVCS_API int evcs_result_column_count(int64_t *out, const evcs_result *result);
/* Rows inserted, updated or deleted by the statement, or returned by a SELECT (the server's
 * command tag count, as PEP 249's rowcount); 0 for other statements. */
EVCS_API int evcs_result_rows_affected(int64_t *out, const evcs_result *result);
EVCS_API int evcs_result_column_name(const char **out, const evcs_result *result, int64_t column);
EVCS_API int evcs_result_column_type(int *out, const evcs_result *result, int64_t column);
EVCS_API int evcs_result_is_null(int *out, const evcs_result *result, int64_t row, int64_t column);
/* Typed getters; the wrong type for the column or a NULL cell fails with EVCS_EINVALID.
 * get_text works for every column and returns the server's text form (borrowed). */
EVCS_API int evcs_result_get_int64(int64_t *out, const evcs_result *result, int64_t row,
                                   int64_t column);
EVCS_API int evcs_result_get_double(double *out, const evcs_result *result, int64_t row,
                                    int64_t column);
EVCS_API int evcs_result_get_bool(int *out, const evcs_result *result, int64_t row, int64_t column);
EVCS_API int evcs_result_get_text(const char **out, size_t *length, const evcs_result *result,
                                  int64_t row, int64_t column);
/* Decoded bytea; allocated, free with evcs_free. */
EVCS_API int evcs_result_get_bytes(void **out, size_t *length, const evcs_result *result,
                                   int64_t row, int64_t column);
EVCS_API int evcs_result_get_timestamp(int64_t *out, const evcs_result *result, int64_t row,
                                       int64_t column);
/* One cell as JSON text typed by its column: numbers, booleans, null, json/jsonb as is, text[]
 * as an array, everything else as a string. Free with evcs_free. */
EVCS_API int evcs_result_get_json(char **out, const evcs_result *result, int64_t row,
                                  int64_t column);
/* The whole result as a JSON array of objects (column name → value); free with evcs_free. */
EVCS_API int evcs_result_to_json(char **out, const evcs_result *result);
EVCS_API void evcs_result_free(evcs_result *result);

/* ---- typed columns ------------------------------------------------------------------------
 *
 * A result's rows as typed, columnar batches: per column one array of values and one validity
 * byte per row (1 = a value, 0 = NULL), so a caller fills arrays of its own (numpy, Arrow, a
 * DataFrame) without a call per cell. The values are what the per-cell getters return:
 *   EVCS_TYPE_INT64, _BOOL (0 / 1), _TIMESTAMP (UTC microseconds; INT64_MAX / INT64_MIN for
 *     'infinity' / '-infinity'): evcs_batch_column_int64s
 *   EVCS_TYPE_DOUBLE: evcs_batch_column_doubles
 *   every other type: evcs_batch_column_bytes, row r's bytes being data[offsets[r],
 *     offsets[r + 1]) (row_count + 1 offsets): text as UTF-8, numeric as exact decimal text,
 *     uuid as canonical text, date as ISO text, json as JSON text, arrays as JSON text (as
 *     evcs_result_get_json gives them), bytea as its raw bytes.
 * A NULL cell holds 0, 0.0 or no bytes. Pointers into a batch live until the batch is freed (an
 * iterator's batch: until the next evcs_batches_next or evcs_batches_free). */
typedef struct evcs_batch evcs_batch;
typedef struct evcs_batches evcs_batches;
/* Batches of at most `rows_per_batch` rows (> 0) over `result`, first row to last. The iterator
 * keeps the rows it needs: `result` may be freed before it. */
EVCS_API int evcs_result_batches(evcs_batches **out, const evcs_result *result,
                                 int64_t rows_per_batch);
/* The next batch, or EVCS_ITEROVER after the last one (not an error; *out is then NULL). */
EVCS_API int evcs_batches_next(const evcs_batch **out, evcs_batches *batches);
EVCS_API void evcs_batches_free(evcs_batches *batches);
EVCS_API int evcs_batch_row_count(int64_t *out, const evcs_batch *batch);
EVCS_API int evcs_batch_column_count(int64_t *out, const evcs_batch *batch);
EVCS_API int evcs_batch_column_name(const char **out, const evcs_batch *batch, int64_t column);
EVCS_API int evcs_batch_column_type(int *out, const evcs_batch *batch, int64_t column);
EVCS_API int evcs_batch_column_validity(const uint8_t **out, const evcs_batch *batch,
                                        int64_t column);
/* EVCS_EINVALID when the column's values are not held in that form (see above). */
EVCS_API int evcs_batch_column_int64s(const int64_t **out, const evcs_batch *batch,
                                      int64_t column);
EVCS_API int evcs_batch_column_doubles(const double **out, const evcs_batch *batch,
                                       int64_t column);
EVCS_API int evcs_batch_column_bytes(const int64_t **out_offsets, const char **out_data,
                                     const evcs_batch *batch, int64_t column);

/* ---- versioned entities (docs/versioning.md) ---------------------------------------------------
 *
 * Whole records cross as JSON text (UTF-8), returned through `char **out` and freed with
 * evcs_free. A version is an object
 *   {"head_id": "<uuid>", "branch": "main", "version": 1, "valid_from": <micros>,
 *    "valid_to": <micros>|null, "deleted": false, "author": "...", "parent_branch": ...|null,
 *    "parent_version": ...|null, "merged_from": ...|null, "fields": {...}, "changed": [...],
 *    "previous": {...}}
 * Timestamps are UTC microseconds; a version still pending in an uncommitted transaction has
 * valid_from = INT64_MAX. "fields" is ordered by name; its values are typed as JSON: numbers,
 * booleans, null, json/jsonb as is, text[] and int[] as arrays, and numeric, uuid, date,
 * timestamptz (the server's text, UTC: "2024-05-01 12:00:00.5+00") and bytea ("\\x0a0b") as
 * strings; evcs_repository_fields tells which field has which type. "changed" lists the fields
 * that differ from the previous version and "previous" their values before it (histories).
 * Malformed JSON or a JSON value of the wrong shape fails with EVCS_EINVALID naming the
 * argument. */

/* Declares an entity type. `columns_json` is an array of {"name": "...", "type": "..."} in
 * column order, e.g. [{"name":"name","type":"text not null"},{"name":"budget","type":"numeric"}]
 * (an array, because JSON objects lose their order in many languages). A column that refers
 * to an entity of another type (or of its own) is {"name": "project_id", "references":
 * "project", "on_delete": "restrict" | "cascade" | "set null"} ("type" optional: uuid, or
 * "uuid not null"; on_delete restrict unless given). Transactional. */
EVCS_API int evcs_session_create_entity_type(evcs_session *session, const char *name,
                                             const char *columns_json);
/* As evcs_session_create_entity_type, with the rules its live entities keep on every branch:
 * `constraints_json` (NULL: none) is {"unique": [["email"], ["org_id", "code"]], "checks":
 * {"positive_qty": "qty > 0"}}. A commit that breaks a reference, a unique key or a check
 * fails with EVCS_EINTEGRITY and writes nothing. */
EVCS_API int evcs_session_create_entity_type_with(evcs_session *session, const char *name,
                                                  const char *columns_json,
                                                  const char *constraints_json);
/* Column changes of an entity type, usable inside a migration (docs/migrations.md). Each changes the
 * version table, the <type>_current view, the write function and the catalog together, in the
 * session's transaction, and keeps every version; take repositories after the change.
 * add_column: `type` as in create_entity_type ("text", "int not null"); versions written
 * before the column read NULL in it. `default_value` (NULL = none) is a literal of the type
 * that entities created afterwards get when they leave the column out; a "not null" column of
 * a type that has versions needs one (those versions are given it).
 * Errors: EVCS_ENOTFOUND for an unknown type or column; EVCS_EINVALID for invalid names or
 * types, a column name already in use, or evcs's own columns (head_id, branch, version, ...). */
EVCS_API int evcs_session_add_column(evcs_session *session, const char *entity_type,
                                     const char *column, const char *type,
                                     const char *default_value);
EVCS_API int evcs_session_drop_column(evcs_session *session, const char *entity_type,
                                      const char *column);
EVCS_API int evcs_session_rename_column(evcs_session *session, const char *entity_type,
                                        const char *column, const char *new_name);
/* Relation changes of an existing entity type (docs/relations.md), usable inside a migration;
 * each changes the catalog, the storage constraints and the triggers of the types concerned in
 * the session's transaction. A new referencing column is evcs_session_add_column (type "uuid")
 * followed by evcs_session_add_reference.
 * add_reference: `on_delete` "restrict" (NULL), "cascade" or "set null"; every version's value
 * must name an entity of `references` and every live entity of every branch must refer to an
 * entity live there. add_unique_key: `columns_json` a JSON array of column names, e.g.
 * ["org_id","code"]; no two live entities of a branch may share them already. drop_unique_key
 * drops the key of exactly these columns. add_check: every version, history included, must
 * satisfy `expression`. Errors: EVCS_EINTEGRITY naming an entity the data breaks the rule
 * with (nothing changes); EVCS_ENOTFOUND for an unknown type, column, key or check;
 * EVCS_EINVALID for a column that is not uuid, an invalid on_delete or check, a rule declared
 * already. */
EVCS_API int evcs_session_add_reference(evcs_session *session, const char *entity_type,
                                        const char *column, const char *references,
                                        const char *on_delete);
EVCS_API int evcs_session_drop_reference(evcs_session *session, const char *entity_type,
                                         const char *column);
EVCS_API int evcs_session_alter_reference(evcs_session *session, const char *entity_type,
                                          const char *column, const char *on_delete);
EVCS_API int evcs_session_add_unique_key(evcs_session *session, const char *entity_type,
                                         const char *columns_json);
EVCS_API int evcs_session_drop_unique_key(evcs_session *session, const char *entity_type,
                                          const char *columns_json);
EVCS_API int evcs_session_add_check(evcs_session *session, const char *entity_type,
                                    const char *name, const char *expression);
EVCS_API int evcs_session_drop_check(evcs_session *session, const char *entity_type,
                                     const char *name);
/* The repository of one entity type, working on the session's branch and transaction. An
 * unknown type fails with EVCS_ENOTFOUND. The repository keeps the session's state alive; once
 * the session is freed (rolling back what it had not committed) the repository still works,
 * but nothing can commit its writes any more. */
EVCS_API int evcs_session_repository(evcs_repository **out, evcs_session *session,
                                     const char *entity_type);
EVCS_API void evcs_repository_free(evcs_repository *repository);
/* The entity type's fields in column order, as a JSON array of
 *   {"name": "budget", "type": "numeric(14,2)", "value_type": 6}   (6 = EVCS_TYPE_NUMERIC)
 * where "type" is the declared PostgreSQL type and "value_type" the EVCS_TYPE_* kind of its
 * values (as evcs_result_column_type reports for the column), so a wrapper can turn each
 * field's JSON value into a native value. */
EVCS_API int evcs_repository_fields(char **out_json, const evcs_repository *repository);

/* Writes; each returns the new version. `values_json` is an object of field name → value.
 * `head_id` NULL in create: a new random uuid. `expected_version` < 0: no check (otherwise
 * EVCS_ECONCURRENT when the current version differs). `to_version` < 0: none; `as_of` NULL:
 * none (revert needs one of the two). */
EVCS_API int evcs_repository_create(char **out_version, evcs_repository *repository,
                                    const char *values_json, const char *head_id);
/* Many new entities at once (COPY). `rows_json` is an array of objects of field name → value,
 * each optionally with "head_id" (a uuid). Outside evcs_session_begin this is a commit of its
 * own, recording `message` (NULL: none); inside it joins that transaction (message must be
 * NULL). Returns {"head_ids": [...], "branch": "...", "version": 1, "valid_from": micros,
 * "author": "..."}, head ids in row order; valid_from is INT64_MAX while pending. */
EVCS_API int evcs_repository_create_many(char **out_json, evcs_repository *repository,
                                         const char *rows_json, const char *message);
/* Many entities updated at once. `rows_json` is an array of objects, each with "head_id" and
 * the fields to change (merged over the current version). Outside evcs_session_begin this is a
 * commit of its own, recording `message` (NULL: none), written with one UPDATE and one COPY;
 * rows that change nothing write nothing. Inside it joins that transaction (message must be
 * NULL). Returns {"head_ids": [...], "versions": [...], "branch": "...", "valid_from": micros,
 * "author": "..."} in row order (each entity's version now); valid_from is INT64_MAX while
 * pending or when nothing changed. EVCS_ENOTFOUND for an entity the branch does not show or
 * shows deleted; EVCS_EINVALID for a row without head_id, a repeated head_id or an unknown
 * field. A failure writes nothing. */
EVCS_API int evcs_repository_update_many(char **out_json, evcs_repository *repository,
                                         const char *rows_json, const char *message);
EVCS_API int evcs_repository_update(char **out_version, evcs_repository *repository,
                                    const char *head_id, const char *values_json,
                                    int64_t expected_version);
EVCS_API int evcs_repository_delete(char **out_version, evcs_repository *repository,
                                    const char *head_id);
EVCS_API int evcs_repository_restore(char **out_version, evcs_repository *repository,
                                     const char *head_id);
EVCS_API int evcs_repository_revert(char **out_version, evcs_repository *repository,
                                    const char *head_id, int64_t to_version,
                                    const int64_t *as_of);

/* Reads. `as_of` NULL: now; `branch` NULL: the session's. get returns the JSON text "null"
 * when no version is visible; history returns a JSON array, oldest first. */
EVCS_API int evcs_repository_get(char **out_version, evcs_repository *repository,
                                 const char *head_id, const int64_t *as_of, const char *branch);
EVCS_API int evcs_repository_history(char **out_versions, evcs_repository *repository,
                                     const char *head_id, const char *branch);
/* The history in pages, ordered by (valid_from, branch, version). `options_json` NULL or an
 * object with any of "branch" (default the session's), "limit", "after" (the cursor of the
 * previous page). `*out_page` is {"versions": [...], "cursor": text or null}; see "Pages and
 * cursors" below. */
EVCS_API int evcs_repository_history_page(char **out_page, evcs_repository *repository,
                                          const char *head_id, const char *options_json);
/* `options_json` NULL (or "null", or {}) means everything now on the session's branch;
 * otherwise an object with any of
 *   "where": a filter (docs/versioning.md), "order_by": "field" | ["field", "-field", ...],
 *   "limit": n, "offset": n, "as_of": micros, "branch": "name",
 *   "as_of_commit": a commit ref (the state of the commit's branch at the commit; not with
 *   "as_of", and a "branch" given with it must be the commit's),
 *   "after": the cursor of the previous page (not with "offset"),
 *   "include": "relation" | ["relation", ...]: related versions to load with each version, as of
 *   the same instant on the same branch, one query per relation: a referencing field ("project_id"
 *   or "project") or a referring type ("task", "tasks" or "task.project_id"); each version record
 *   then has "included": {relation: [versions]} and the page "relations": {relation:
 *   {"entity_type", "to_one"}} (docs/relations.md)
 * (a null value is the same as leaving the key out; other keys are EVCS_EINVALID). A "where" or
 * "order_by" field may name a related entity's field: "project.status" (many-to-one; in order_by
 * too), "tasks.status" (one-to-many: some related entity matches).
 * count and exists ignore order_by, limit and offset as find applies them. */
EVCS_API int evcs_repository_find(char **out_versions, evcs_repository *repository,
                                  const char *options_json);
/* Pages and cursors. find_page is find that also hands back where the next page starts:
 * `*out_page` is {"versions": [...], "cursor": text or null} (free it with evcs_free). With a
 * "limit", "cursor" is set when more rows follow; pass it as "after" with the same "where",
 * "order_by" and "branch" for the next page (and "as_of" or "as_of_commit" only if the first
 * page had them). A page starts after the previous page's last row in the order (order_by, then
 * head_id), found through an index where one exists rather than by skipping rows, so the
 * thousandth page costs what the first does. The first page pins an instant: its "as_of", else
 * the latest committed commit stamp as it was read; every later page reads as of that instant on
 * the same branch, so a walk while others commit returns every entity of that state exactly
 * once, as it was then. Paged reads see no uncommitted versions, the session's own included.
 * A cursor is opaque URL-safe text; a malformed or edited one, or one of another query
 * (another where, order_by, branch or as_of), is EVCS_EINVALID with SQLSTATE EVK01. */
EVCS_API int evcs_repository_find_page(char **out_page, evcs_repository *repository,
                                       const char *options_json);
/* The same page as rows, for a caller that converts cells itself (no JSON): `*out` holds the
 * versions as an evcs_result (evcs_found_rows: columns head_id, branch, version, valid_from,
 * valid_to, deleted, parent_branch, parent_version, merged_from, author, then the fields in
 * declared order, then any columns the order needed; the page is the first `*out_count` rows),
 * the cursor, and each included relation's versions with the rows of each page row. The
 * evcs_result pointers live as long as `*out`; free it with evcs_found_free. */
typedef struct evcs_found evcs_found;
/* The number of the version's own columns before the fields in evcs_found_rows' rows. */
#define EVCS_FOUND_FIELDS_AFTER 10
EVCS_API int evcs_repository_find_rows(evcs_found **out, evcs_repository *repository,
                                       const char *options_json);
EVCS_API int evcs_found_rows(const evcs_result **out, int64_t *out_count, const evcs_found *found);
/* `*out` is NULL when no row follows the page. */
EVCS_API int evcs_found_cursor(const char **out, const evcs_found *found);
EVCS_API int evcs_found_relation_count(size_t *out, const evcs_found *found);
/* Relation `index` (in the order of "include"): its name, entity type, whether it is many-to-one
 * and its versions (laid out as the page's rows, with the related type's fields). */
EVCS_API int evcs_found_relation(const char **out_name, const char **out_entity_type,
                                 int *out_to_one, const evcs_result **out_rows,
                                 const evcs_found *found, size_t index);
/* The rows (of the relation's versions) that page row `row` has in relation `index`. */
EVCS_API int evcs_found_related(const int64_t **out_rows, size_t *out_count,
                                const evcs_found *found, size_t index, int64_t row);
EVCS_API void evcs_found_free(evcs_found *found);
/* A history page (evcs_repository_history_page's options) as rows, for a caller that converts
 * cells itself: the entity's history up to the page's end, in history order (columns as
 * evcs_found_rows'); the page is rows [*out_first, *out_first + *out_count). What a version
 * changed is evcs_history_changed; its previous values are the row before it. Pointers live as
 * long as the handle; free it with evcs_history_free. */
typedef struct evcs_history evcs_history;
EVCS_API int evcs_repository_history_rows(evcs_history **out, evcs_repository *repository,
                                          const char *head_id, const char *options_json);
EVCS_API int evcs_history_rows(const evcs_result **out, int64_t *out_first, int64_t *out_count,
                               const evcs_history *history);
/* The fields (their indexes in declared order) whose values row `row` changed from the row
 * before it: every field for row 0. */
EVCS_API int evcs_history_changed(const size_t **out_fields, size_t *out_count,
                                  const evcs_history *history, int64_t row);
/* `*out` is NULL when no version follows the page. */
EVCS_API int evcs_history_cursor(const char **out, const evcs_history *history);
EVCS_API void evcs_history_free(evcs_history *history);
EVCS_API int evcs_repository_count(int64_t *out, evcs_repository *repository,
                                   const char *options_json);
EVCS_API int evcs_repository_exists(int *out, evcs_repository *repository,
                                    const char *options_json);

/* ---- branches, diff and merge (docs/versioning.md) ------------------------------------------ */

/* `from_branch` NULL: "main"; `mode` NULL: "snapshot" (or "live"). Transactional. */
EVCS_API int evcs_session_create_branch(evcs_session *session, const char *name,
                                        const char *from_branch, const char *mode);
/* As evcs_session_create_branch, but a snapshot branch whose fork point is `as_of` (UTC
 * micros; NULL: the commit that creates it): it reads its parent as it was at that past
 * instant. EVCS_EINVALID for a live branch or an instant in the future. */
EVCS_API int evcs_session_create_branch_as_of(evcs_session *session, const char *name,
                                              const char *from_branch, const char *mode,
                                              const int64_t *as_of);
/* A JSON array of {"name", "parent" (null for main), "mode", "fork_stamp" (micros or null),
 * "status" ("active", "locked", "archived"), "created_at" (micros), "created_by", "head" (its
 * last commit, or the one it was forked from; null before any), "base" (the merge base with
 * its parent: the fork point or the last merge in either direction), "base_stamp"}. */
EVCS_API int evcs_session_branches(char **out_json, evcs_session *session);
/* A locked or archived branch rejects writes with EVCS_ELOCKED (SQLSTATE EVL01). */
EVCS_API int evcs_session_lock_branch(evcs_session *session, const char *name);
EVCS_API int evcs_session_unlock_branch(evcs_session *session, const char *name);
EVCS_API int evcs_session_archive_branch(evcs_session *session, const char *name);
/* A JSON array of {"entity_type", "head_id", "kind" ("added", "deleted", "modified"),
 * "fields": {name: {"old": target's, "new": source's}}}. `target` NULL: "main"; `as_of` NULL:
 * now. */
EVCS_API int evcs_session_diff(char **out_json, evcs_session *session, const char *source,
                               const char *target, const int64_t *as_of);
/* A three-way merge, committed as one transaction. `into` NULL: the source's parent;
 * `strategy` NULL: "fail" (EVCS_EMERGECONFLICT, the conflicts in evcs_error_last_detail as
 * {"conflicts": [...]}), or "theirs" / "ours". Result: a merge result (section "the commit
 * graph" below): {"changes": [<diff entries>], "conflicts": [{"entity_type", "head_id", "field",
 * "base", "ours", "theirs", "resolution", "kind", "constraint", "other_type", "other_head_id"}],
 * "stamp": micros|null, "target", "source_commit", "base_commit", "commit", "unresolved"}. */
EVCS_API int evcs_session_merge(char **out_json, evcs_session *session, const char *source,
                                const char *into, const char *strategy);
/* As evcs_session_merge, recording `message` in the commit log (NULL or "": "merge <source>"). */
EVCS_API int evcs_session_merge_with_message(char **out_json, evcs_session *session,
                                             const char *source, const char *into,
                                             const char *strategy, const char *message);
/* What evcs_session_merge with strategy "fail" would write and the conflicts, writing nothing
 * ("stamp": null). */
EVCS_API int evcs_session_merge_preview(char **out_json, evcs_session *session,
                                        const char *source, const char *into);
/* What evcs_session_merge with `strategy` (NULL: "fail") would write and the conflicts, writing
 * nothing: with "theirs" the changes include the conflicting fields at the source's values. */
EVCS_API int evcs_session_merge_preview_with_strategy(char **out_json, evcs_session *session,
                                                      const char *source, const char *into,
                                                      const char *strategy);

/* The commit log, newest first: a JSON array of {"id" (40 hex digits), "parents" (the previous
 * commit of the branch or its fork point, then a merge's source head), "stamp" (micros),
 * "branch", "author", "message", "changes" (versions written), "merged_from" (null unless a
 * merge)}.
 * `options_json` NULL or an object with any of "branch", "entity_type", "head_id" (needs
 * entity_type: the commits that wrote that entity), "limit". */
EVCS_API int evcs_session_commit_log(char **out_json, evcs_session *session,
                                     const char *options_json);

/* ---- the commit graph: merges in every direction, conflicts one by one, commits ---------------
 *
 * A commit is named (`ref`) by its id (40 hex digits), a unique prefix of at least four of them,
 * a tag or a branch (its head). Merge options are NULL or a JSON object with any of
 *   "into": the branch written to (a merge: default the source's parent; revert/cherry-pick:
 *            default the session's branch),
 *   "strategy": "fail" (default) | "ours" | "theirs", for conflicts without a resolution,
 *   "message": the commit message,
 *   "resolutions": [{"entity_type", "head_id", "field", "take": "ours" | "theirs" | "value",
 *                    "value": ...}, ...] (field "deleted" settles a delete-versus-modify
 *                    conflict with "ours" or "theirs"; a resolution that meets no conflict is
 *                    EVCS_EINVALID).
 * A merge result is {"changes", "conflicts" (each with "resolution": null or how it is
 * settled), "stamp", "target", "source_commit", "base_commit", "commit" (the commit written, or
 * null), "unresolved" (conflicts nothing settles)}. A conflict's "kind" is "field", "delete"
 * (delete versus modify) or a violation of the merged result: "reference", "referenced"
 * (on_delete restrict), "unique" or "check", with "constraint" (the reference column, the key's
 * columns, the check's name) and the other entity involved ("other_type", "other_head_id"; null
 * for a check). No strategy settles a violation; a resolution naming the violating entity and
 * any of its fields, or "deleted" ("ours": do not bring it), does when its result breaks no
 * rule (docs/relations.md). A commit is {"id", "parents", "stamp",
 * "branch", "author", "message", "changes", "merged_from"}; a tag {"name", "commit", "message",
 * "created_at", "created_by"}. */

/* A merge of the source's head into options "into" (any branch sharing history with it),
 * committed as one transaction; EVCS_EMERGECONFLICT (detail: the unsettled conflicts) writes
 * nothing. */
EVCS_API int evcs_session_merge_with_options(char **out_json, evcs_session *session,
                                             const char *source, const char *options_json);
/* What evcs_session_merge_with_options would do, writing nothing. */
EVCS_API int evcs_session_merge_preview_with_options(char **out_json, evcs_session *session,
                                                     const char *source,
                                                     const char *options_json);
/* A staged merge: start records it (one per target branch; EVCS_EINVALID while one is in
 * progress) pinned to the source's head and writes no version; resolve adds resolutions
 * (`resolutions_json`: an array as above; a later one for the same conflict replaces the
 * earlier); status plans it again; continue commits it (EVCS_EMERGECONFLICT while conflicts
 * are unsettled); abort forgets it. Each returns a merge result ("commit" null but for
 * continue); resolve checks against the conflicts found at start and returns them settled,
 * without changes (status gives the plan). All four commit by themselves (the session must
 * hold no uncommitted versioned work).
 * EVCS_ENOTFOUND when no merge into the target is in progress. `target` NULL: the session's
 * branch; `message` NULL: the one given at start, else "merge <source>". */
EVCS_API int evcs_session_merge_start(char **out_json, evcs_session *session, const char *source,
                                      const char *options_json);
EVCS_API int evcs_session_merge_status(char **out_json, evcs_session *session,
                                       const char *target);
EVCS_API int evcs_session_merge_resolve(char **out_json, evcs_session *session,
                                        const char *resolutions_json, const char *target);
EVCS_API int evcs_session_merge_continue(char **out_json, evcs_session *session,
                                         const char *target, const char *message);
EVCS_API int evcs_session_merge_abort(evcs_session *session, const char *target);
/* The commit `ref` names (EVCS_ENOTFOUND for none). */
EVCS_API int evcs_session_commit_info(char **out_json, evcs_session *session, const char *ref);
/* The merge base of two commits, or the JSON text "null" when they share none. */
EVCS_API int evcs_session_merge_base(char **out_json, evcs_session *session, const char *first,
                                     const char *second);
/* Names a commit (`commit` NULL: the head of the session's branch; `message` may be NULL).
 * Tag names are up to 63 letters, digits, '_', '.' and '-', not starting with '.' or '-'.
 * EVCS_EINVALID when the tag exists or the name is invalid, EVCS_ENOTFOUND for an unknown
 * commit. Result: the tag. Creating and deleting tags is transactional, as creating a branch:
 * it lands with the session's commit. tags: every tag, by name; delete_tag: EVCS_ENOTFOUND for
 * none. */
EVCS_API int evcs_session_tag(char **out_json, evcs_session *session, const char *name,
                              const char *commit, const char *message);
EVCS_API int evcs_session_tags(char **out_json, evcs_session *session);
EVCS_API int evcs_session_delete_tag(evcs_session *session, const char *name);
/* A new commit applying the inverse of commit `ref` (revert) or its changes (cherry-pick),
 * field by field, on options "into"; conflicts as a merge's. Result: a merge result. */
EVCS_API int evcs_session_revert_commit(char **out_json, evcs_session *session, const char *ref,
                                        const char *options_json);
EVCS_API int evcs_session_cherry_pick(char **out_json, evcs_session *session, const char *ref,
                                      const char *options_json);
/* The entities that differ between two states of history, as evcs_session_diff ("old" at
 * `from`, "new" at `to`). `from_json`, `to_json`: a JSON string (a commit ref) or integer (an
 * instant, UTC micros, of `branch`; NULL: the session's branch). */
EVCS_API int evcs_session_diff_history(char **out_json, evcs_session *session,
                                       const char *from_json, const char *to_json,
                                       const char *branch);
/* The version visible at commit `ref` on the commit's branch, or "null". */
EVCS_API int evcs_repository_get_at_commit(char **out_version, evcs_repository *repository,
                                           const char *head_id, const char *ref);
/* The versions of the type on a branch over a system-time range, oldest first. `range_json`
 * NULL or an object with any of "from", "to" (micros; unset: open), "mode" ("from_to":
 * valid at some instant of [from, to), default; "between": of [from, to]; "contained_in":
 * began and ended within [from, to]), "branch" (default the session's; only its own
 * versions), "limit", "after" (the cursor of the previous page; a null value is the same as
 * leaving the key out). EVCS_EINVALID for other keys, an unknown mode, "from" after "to" or a
 * negative limit. */
EVCS_API int evcs_repository_versions(char **out_versions, evcs_repository *repository,
                                      const char *range_json);
/* The same in pages, ordered by (valid_from, head_id): `*out_page` is {"versions": [...],
 * "cursor": text or null}, as evcs_repository_find_page's. Paged, the range is read as of the
 * pinned instant: a version ended after it counts as still open. */
EVCS_API int evcs_repository_versions_page(char **out_page, evcs_repository *repository,
                                           const char *range_json);

/* ---- embedded default server (docs/embedded.md) --------------------------------------------------- */

/* Starts (or joins) the embedded PostgreSQL server of this process. `options` may be NULL;
 * keys: data_dir, persist. The server stops when the last embedded handle and the last engine
 * using it are freed (unless persist is set: then the data directory is kept). */
EVCS_API int evcs_embedded_start(evcs_embedded **out, const evcs_options *options);
EVCS_API int evcs_embedded_url(const char **out, const evcs_embedded *embedded);
EVCS_API int evcs_embedded_data_dir(const char **out, const evcs_embedded *embedded);
EVCS_API int evcs_embedded_persist(int *out, const evcs_embedded *embedded);
EVCS_API void evcs_embedded_free(evcs_embedded *embedded);

/* ---- schema migrations (docs/migrations.md) ------------------------------------------------------------
 *
 * A runner applies the numbered steps of a directory (NNNN_slug.up.sql + NNNN_slug.down.sql;
 * docs/migrations.md) to the engine's database. Steps and records cross as JSON text freed with
 * evcs_free. A step is
 *   {"version": 3, "slug": "create_task", "name": "0003_create_task", "up_path": "...",
 *    "down_path": "...", "checksum": "<sha-256 hex of the up file>"}
 * and an applied record (history)
 *   {"version": 3, "slug": "create_task", "checksum": "...", "applied_at": <UTC micros>,
 *    "duration_ms": 12, "applied_by": "postgres (author)"}.
 * Failures of the directory, a step or verify are EVCS_EMIGRATION naming the file; a target in
 * the wrong direction is EVCS_EINVALID, a version without a step EVCS_ENOTFOUND.
 * A runner is used by one thread at a time; runners on one database (in any process) are
 * serialised by an advisory lock. */
typedef struct evcs_migration_runner evcs_migration_runner;

/* Reads and validates `directory` (nothing runs yet). `author` (may be NULL) is recorded next to
 * the database user in applied_by. The runner keeps the engine alive. */
EVCS_API int evcs_migration_runner_open(evcs_migration_runner **out, evcs_engine *engine,
                                        const char *directory, const char *author);
/* The SDK's own catalog as a runner: its steps are compiled into the library, recorded in
 * evcs_catalog_migration apart from the user's evcs_migration, and every engine applies the
 * pending ones on first use. `current` is the catalog's version; the steps' paths read
 * "evcs:catalog/NNNN_slug.up.sql" and `directory` is "evcs:catalog". */
EVCS_API int evcs_migration_runner_open_catalog(evcs_migration_runner **out, evcs_engine *engine,
                                                const char *author);
EVCS_API void evcs_migration_runner_free(evcs_migration_runner *runner);
/* Progress of a batched step ("-- evcs: batch"): called on the calling thread after every batch
 * that affected rows, with the step's file, the batch number (from 1), the rows of this batch and
 * of the step so far. Returning EVCS_OK goes on; any other status stops the run with it (the
 * batches already committed stay, the step stays pending) and the upgrade or downgrade returns
 * it with the error the callback set through evcs_error_set. NULL removes the callback. */
typedef int (*evcs_batch_callback)(void *payload, const char *file, int64_t batch, int64_t rows,
                                   int64_t total_rows);
EVCS_API int evcs_migration_runner_set_batch_callback(evcs_migration_runner *runner,
                                                      evcs_batch_callback callback, void *payload);
/* The directory the runner reads. Borrowed. */
EVCS_API int evcs_migration_runner_directory(const char **out, const evcs_migration_runner *runner);
/* Every step of the directory, in order: a JSON array of steps. */
EVCS_API int evcs_migration_runner_steps(char **out_json, evcs_migration_runner *runner);
/* Applies the steps after the current one up to `target` (NULL or "head", a version such as "3"
 * or "0003", or "+N"); `out_json` is the array of steps applied (empty when already there). */
EVCS_API int evcs_migration_runner_upgrade(char **out_json, evcs_migration_runner *runner,
                                           const char *target);
/* Reverts applied steps, newest first, down to `target` ("base", a version, or "-N"); the array
 * of steps reverted. */
EVCS_API int evcs_migration_runner_downgrade(char **out_json, evcs_migration_runner *runner,
                                             const char *target);
/* Offline mode: exactly the SQL upgrade/downgrade would run from the current version (read,
 * never changed), bookkeeping included, as ";"-terminated text. */
EVCS_API int evcs_migration_runner_upgrade_sql(char **out_sql, evcs_migration_runner *runner,
                                               const char *target);
EVCS_API int evcs_migration_runner_downgrade_sql(char **out_sql, evcs_migration_runner *runner,
                                                 const char *target);
/* The newest applied version; 0 at base (nothing applied). */
EVCS_API int evcs_migration_runner_current(int64_t *out, evcs_migration_runner *runner);
/* A JSON array of applied records, oldest first. */
EVCS_API int evcs_migration_runner_history(char **out_json, evcs_migration_runner *runner);
/* A JSON array of the steps not applied yet, in order. */
EVCS_API int evcs_migration_runner_pending(char **out_json, evcs_migration_runner *runner);
/* Checks every applied step against its file: EVCS_EMIGRATION naming the file whose checksum
 * changed or that disappeared (applied migrations are never edited). */
EVCS_API int evcs_migration_runner_verify(evcs_migration_runner *runner);
/* Records `target` ("head", "base", a version) as current without running any step. */
EVCS_API int evcs_migration_runner_stamp(evcs_migration_runner *runner, const char *target);
/* Writes the next-numbered empty pair for `message` into `directory` (created if missing);
 * `out_path` is the path of the up file. */
EVCS_API int evcs_migration_new_step(char **out_path, const char *directory, const char *message);

/* ---- backup and verified restore (docs/backup.md) -------------------------------------------------
 *
 * A backup is a pg_dump custom-format archive plus ARCHIVE.manifest.json: the row count and a
 * checksum of every version table and evcs catalog table, taken in the archive's snapshot. The
 * manifest crosses as JSON text (free with evcs_free):
 *   {"archive": "<the archive's file name>", "server_version_num": 150005,
 *    "tables": [{"table": "public.project_version", "rows": 3, "md5": "..."}, ...]} */

/* Dumps the database at `url` into `archive` (overwritten) and writes its manifest. */
EVCS_API int evcs_database_backup(char **out_manifest_json, const char *url, const char *archive);
/* Restores `archive` into the existing, empty database at `target_url` (EVCS_EINVALID if it is
 * not empty) in one transaction, then verifies it against the manifest. */
EVCS_API int evcs_database_restore(char **out_manifest_json, const char *archive,
                                   const char *target_url);
/* Recomputes the manifest's tables in the database at `target_url`; EVCS_ERROR naming the first
 * table whose row count or checksum differs, or that is missing. */
EVCS_API int evcs_database_verify_restore(char **out_manifest_json, const char *archive,
                                          const char *target_url);

/* ---- migration autogenerate (docs/migrations.md) -------------------------------------------------------
 *
 * Compares the declared schema in `schema_path` (JSON: entity types and tables; the format is in
 * docs/migrations.md, "Autogenerate") with the engine's database and writes the next-numbered
 * NNNN_slug.up.sql / .down.sql pair for `message` into `directory` (NULL: "migrations"), for
 * review. `out_json` (free with evcs_free) is
 *   {"changes": ["add table customer", ...], "warnings": [...], "up_sql": "...",
 *    "down_sql": "...", "up_path": "...", "down_path": "..."}
 * with no changes, empty SQL and null paths when the database already matches (nothing is
 * written). A malformed file, an unknown type or an invalid name or expression is
 * EVCS_EINVALID naming the file and the JSON path (or line); a database that has not applied
 * every step of `directory` is EVCS_EMIGRATION. */
EVCS_API int evcs_migration_autogenerate(char **out_json, evcs_engine *engine, const char *message,
                                         const char *schema_path, const char *directory);
/* The same for a schema document given as JSON text (`schema_json`, e.g. built by a program
 * from typed models) instead of a file; errors and the up step's header call it "schema". */
EVCS_API int evcs_migration_autogenerate_text(char **out_json, evcs_engine *engine,
                                              const char *message, const char *schema_json,
                                              const char *directory);

#ifdef __cplusplus
}
#endif

#endif /* EVCS_H */
