/*
 * The admin JSON API (/api/v1/...), internal to the admin server: admin.c authenticates a request
 * and hands it to hd_api_handle(); api.c routes it; api_query.c and api_report.c answer reads on
 * the reader thread (api_reader.c, its own read-only SQLite connection) so long queries never run
 * on the loop; api_actions.c changes state on the loop through the engine and intake and answers
 * once the change is durable. docs/openapi.yaml describes every route.
 */
#ifndef HD_API_H
#define HD_API_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sqlite3.h>

struct hd_daemon;
struct hd_api;

enum hd_role { HD_ROLE_NONE, HD_ROLE_VIEWER, HD_ROLE_OPERATOR, HD_ROLE_ADMIN, HD_ROLE_MAX };
const char *hd_role_name(enum hd_role r);
enum hd_role hd_role_parse(const char *name); /* HD_ROLE_NONE when unknown */

#define HD_API_MAX_SEGS 8

/* One authenticated request while its route handler runs (freed when the handler returns: a
 * handler that answers later keeps `req` and copies what else it needs). */
struct hd_api_req {
    struct hd_api *api;
    struct evhttp_request *req; /* borrowed from evhttp until a reply is sent */
    enum evhttp_cmd_type method;
    const char *who; /* the token's name (never the token) */
    enum hd_role role;
    char *segs[HD_API_MAX_SEGS]; /* decoded path segments after /api/v1/, owned */
    int nseg;
    struct evkeyvalq query; /* decoded query parameters */
    json_t *body;           /* the JSON body (an object) or NULL, owned */
};

int hd_api_create(struct hd_daemon *d, struct hd_api **out, char *err, size_t errlen);
/* Stops the reader thread; requests still waiting get 503. Before evhttp_free(). */
void hd_api_destroy(struct hd_api *api);
/* Answer the actions still waiting for their commit (commits first). From hd_api_destroy(). */
void hd_api_actions_shutdown(struct hd_api *api);
/* Route and answer one request (admin.c has checked the token; role is the token's role). */
void hd_api_handle(struct hd_api *api, struct evhttp_request *req, const char *who,
                   enum hd_role role);
struct hd_daemon *hd_api_daemon(struct hd_api *api);
int64_t hd_api_started_ms(const struct hd_api *api);

/* ---- replies (api.c) ---------------------------------------------------------------------- */

/* Send `body` (stolen, may be NULL for {}) as JSON with status `code`. */
void hd_api_reply_json(struct evhttp_request *req, int code, json_t *body);
void hd_api_reply_raw(struct evhttp_request *req, int code, const char *ctype, const char *data,
                      size_t len);
/* {"error": code_name, "message": "..."}; code_name is a stable machine-readable word
 * (bad_request, unknown_parameter, not_found, conflict, unauthorized, forbidden, ...). */
void hd_api_error(struct evhttp_request *req, int code, const char *code_name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* HTTP status and error word for an HD_E* code. */
int hd_api_status_of(int rc, const char **code_name);

/* ---- request helpers (api.c) ------------------------------------------------------------------
 */

/* Check the query has only `allowed` (NULL-terminated) names; 400 and -1 otherwise. */
int hd_api_query_only(struct hd_api_req *r, const char *const *allowed);
const char *hd_api_param(struct hd_api_req *r, const char *name);
/* Integer parameter within [lo, hi] (default when absent); 400 and -1 when bad. */
int hd_api_param_int(struct hd_api_req *r, const char *name, int64_t lo, int64_t hi, int64_t dflt,
                     int64_t *out);
/* A time parameter: RFC 3339 with offset, or YYYY-MM-DD (local midnight in daemon.timezone);
 * 0 when absent; 400 and -1 when bad. */
int hd_api_param_time(struct hd_api_req *r, const char *name, int64_t *out_ms);
/* Check the body has only `allowed` fields (NULL body counts as {}); 400 and -1 otherwise.
 * `reason`: 0 optional, 1 required (a non-empty string of at most 1000 characters). */
int hd_api_body_only(struct hd_api_req *r, const char *const *allowed, int reason_required);
const char *hd_api_body_str(struct hd_api_req *r, const char *name);

/* Local time (the process zone is daemon.timezone) as RFC 3339 with its offset. */
void hd_api_time(int64_t epoch_ms, char out[40]);
json_t *hd_api_time_json(int64_t epoch_ms); /* null for 0 */
/* Local midnight of year/month/day as epoch ms. */
int64_t hd_api_local_midnight(int year, int month, int day);

/* Paging cursors: opaque base64url text of a small JSON array. */
char *hd_api_cursor_make(json_t *values /* stolen */);
json_t *hd_api_cursor_json(json_t *values /* stolen */); /* the cursor as a JSON string */
json_t *hd_api_cursor_parse(const char *text);           /* an array, or NULL when malformed */

/* ---- the reader thread (api_reader.c) ---------------------------------------------------------
 */

struct hd_api_result {
    int status;   /* HTTP status; 200 unless the query says otherwise */
    json_t *json; /* the answer (owned) ... */
    char *text;   /* ... or raw text (owned; CSV) */
    size_t len;
    const char *ctype;
    const char *err_code; /* with status >= 400 */
    char err[300];
};
/* Runs on the reader thread with its read-only connection, inside a read transaction. `params`
 * is the job's own (built on the loop, never touched there again). */
typedef void hd_api_query_fn(sqlite3 *db, const json_t *params, struct hd_api_result *res);
/* Runs on the loop with the query's result (may add live engine state), and replies. */
typedef void hd_api_finish_fn(struct hd_api *api, struct evhttp_request *req,
                              struct hd_api_result *res);

struct hd_api_reader;
int hd_api_reader_start(struct hd_api *api, struct event_base *base, const char *db_path,
                        struct hd_api_reader **out, char *err, size_t errlen);
void hd_api_reader_stop(struct hd_api_reader *rd);
/* Queue a query; the reply comes from the loop later (finish, or the result as it is). 503 at
 * once when the queue is full. params is stolen. */
void hd_api_submit(struct hd_api_reader *rd, struct evhttp_request *req, hd_api_query_fn *q,
                   json_t *params, hd_api_finish_fn *finish);
struct hd_api_reader *hd_api_reader(struct hd_api *api);
int hd_api_res_error(struct hd_api_result *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- routes ---------------------------------------------------------------------------------- */

/* api_query.c (reads) */
void hd_api_items(struct hd_api_req *r);
void hd_api_item(struct hd_api_req *r);
void hd_api_item_version(struct hd_api_req *r);
void hd_api_deliveries(struct hd_api_req *r);
void hd_api_delivery(struct hd_api_req *r);
void hd_api_rejections(struct hd_api_req *r);
void hd_api_rejection(struct hd_api_req *r);
void hd_api_audit(struct hd_api_req *r);
/* api_channels.c */
void hd_api_status(struct hd_api_req *r);
void hd_api_channels(struct hd_api_req *r);
void hd_api_channel(struct hd_api_req *r);
/* api_report.c */
void hd_api_report(struct hd_api_req *r);
/* api_actions.c (on the loop) */
void hd_api_retry(struct hd_api_req *r);
void hd_api_cancel(struct hd_api_req *r);
void hd_api_release(struct hd_api_req *r);
void hd_api_resolve(struct hd_api_req *r);
void hd_api_retry_failed(struct hd_api_req *r);
void hd_api_pause(struct hd_api_req *r);
void hd_api_resume(struct hd_api_req *r);
void hd_api_unpark(struct hd_api_req *r);
void hd_api_credentials(struct hd_api_req *r);
void hd_api_retract(struct hd_api_req *r);
void hd_api_replay(struct hd_api_req *r);

/* What every list route takes: only the `allowed` parameters; limit (1..500, default 50), since
 * and until into a new object, with the `copied` plain parameters (NULL-terminated). NULL after
 * answering 400. */
json_t *hd_api_list_params(struct hd_api_req *r, const char *const *allowed,
                           const char *const *copied);
/* The "cursor" parameter, as this server gave it out, into p: [id] (c_id), [at, id] or
 * [at, "key"] (c_at, c_id). 0, or -1 after answering 400. */
enum hd_api_cursor { HD_CURSOR_ID, HD_CURSOR_AT_ID, HD_CURSOR_AT_KEY };
int hd_api_list_cursor(struct hd_api_req *r, json_t *p, enum hd_api_cursor kind);
/* A comma-separated list of delivery states as a JSON array; NULL after answering 400. */
json_t *hd_api_state_list(struct hd_api_req *r, const char *text);
/* The timeline of an item (or of one delivery when delivery_id > 0): state changes, attempts and
 * audit entries in time order; each attempt is also added to its delivery's "attempt_log". */
int hd_api_timeline(sqlite3 *db, const char *item, int64_t delivery_id, json_t *deliveries,
                    json_t **out, struct hd_api_result *res);

/* Shared by the queries: a delivery row as JSON (columns in HD_API_DCOLS order from index i0). */
#define HD_API_DCOLS                                                                               \
    "d.id, d.item_id, d.version, d.instance, d.target, d.state, d.reason, d.detail, d.attempts,"   \
    " d.created_at, d.updated_at, d.next_at, d.delivered_at, d.remote_id, d.remote_url,"           \
    " d.hold_kind, d.not_before, d.expires_at, d.approved_at"
json_t *hd_api_delivery_json(sqlite3_stmt *st, int i0);
/* Column helpers for reader-thread queries (null for SQL NULL). */
json_t *hd_api_col_str(sqlite3_stmt *st, int i);
json_t *hd_api_col_time(sqlite3_stmt *st, int i);
json_t *hd_api_col_int(sqlite3_stmt *st, int i);
/* Prepare on the reader's connection; NULL (and res set to 500) on failure. */
sqlite3_stmt *hd_api_prepare(sqlite3 *db, const char *sql, struct hd_api_result *res);
/* Bind a JSON value: string, integer, true/false (1/0) or null. */
void hd_api_bind(sqlite3_stmt *st, int i, const json_t *v);
/* Text from outside as a JSON string; invalid UTF-8 becomes U+FFFD (api.c). */
json_t *hd_api_str(const char *s, size_t len);

#endif
