/*
 * heraldctl's shared declarations: the connection settings, the HTTP call (ctl_http.c), tables
 * aligned by display width (ctl_table.c) and the commands (ctl_cmds.c, ctl_more.c).
 */
#ifndef HD_CTL_H
#define HD_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Exit codes (docs/operations.md): scripts rely on them. */
enum {
    CTL_OK = 0,
    CTL_USAGE = 1,    /* bad command line or configuration */
    CTL_NOTFOUND = 2, /* no such item, delivery, channel (404) */
    CTL_REFUSED = 3,  /* the server refused: bad request, conflicting state (400, 409, ...) */
    CTL_AUTH = 4,     /* no token, wrong token (401) or role too low (403) */
    CTL_SERVER = 5,   /* server error (5xx) or not reachable */
};

struct ctl {
    char url[1024]; /* http://127.0.0.1:8470 (no trailing slash) */
    char *token;    /* owned, wiped at exit; NULL when none */
    char token_src[1100];
    long timeout_s;
    int json;  /* --json */
    int tty;   /* stdout is a terminal */
    int width; /* terminal columns (0: do not truncate) */
};

/* ---- HTTP (ctl_http.c) --------------------------------------------------------------------- */

/* One API call. path starts with /api/v1/. body (borrowed) is sent as JSON when not NULL.
 * On 2xx: returns CTL_OK with *out (JSON, owned) or *text (owned, when the reply is not JSON).
 * Otherwise prints the server's message to stderr and returns the exit code for it. */
int ctl_call(struct ctl *c, const char *method, const char *path, json_t *body, json_t **out,
             char **text);
/* Append "name=value" (URL-escaped) to a query string being built in q (size len). */
void ctl_query_add(char *q, size_t len, const char *name, const char *value);
/* Percent-escape one path segment. */
void ctl_escape(const char *s, char *out, size_t len);

/* ---- tables (ctl_table.c) ------------------------------------------------------------------- */

/* Display width of UTF-8 text on a terminal (CJK and fullwidth characters are 2 columns,
 * combining marks 0); control characters count 1 (they print as '?'). */
int ctl_width(const char *s);
/* Print s padded (or cut, with "…") to exactly `cols` display columns; control characters
 * become '?' so nothing from the server can drive the terminal. */
void ctl_put_cell(FILE *f, const char *s, int cols, int right);
/* s with control characters replaced, for a free-text line. */
void ctl_put_text(FILE *f, const char *s);

struct ctl_table;
/* flex: index of the column that shrinks to fit the terminal (-1: none). */
struct ctl_table *ctl_table_new(int ncols, const char *const *heads, int flex);
void ctl_table_right(struct ctl_table *t, int col); /* numbers: right-aligned */
void ctl_table_add(struct ctl_table *t, const char *const *cells);
void ctl_table_print(struct ctl_table *t, FILE *f, int width);
void ctl_table_free(struct ctl_table *t);

/* JSON helpers: a field as text ("" for null/absent; numbers formatted). */
const char *ctl_s(json_t *o, const char *key);
char *ctl_fmt(json_t *o, const char *key, char *buf, size_t len);
/* "2026-03-12T09:30:00.123+08:00" -> "2026-03-12 09:30:00" (the daemon's zone) */
const char *ctl_time(json_t *o, const char *key, char *buf, size_t len);
void ctl_print_json(json_t *v);

/* ---- commands ------------------------------------------------------------------------------ */

struct ctl_cmd {
    const char *name;
    const char *args;    /* usage line after the name */
    const char *summary; /* one line */
    const char *help;    /* the rest of --help */
    int (*run)(struct ctl *c, int argc, char **argv);
};
extern const struct ctl_cmd ctl_cmds[];

/* Parse a command's options: `spec` is the getopt_long table (it may use the shared global
 * options, see heraldctl.c). Returns 0, or CTL_USAGE after printing the problem. Sets *first to
 * the index of the first operand. */
struct option;
int ctl_getopt(struct ctl *c, const char *cmd, int argc, char **argv, const struct option *opts,
               int (*on)(int opt, const char *arg, void *ud), void *ud, int *first);
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Shared by the commands (ctl_cmds.c). */
/* GET base+query page by page (every page when all), print rows with row() in table t, or the
 * concatenated JSON array `key` with --json. query is rewritten to add the cursor. */
/* A list command's options that are its route's query parameters: an option whose getopt value
 * is i (1.. n_params - 1) adds params[i]=VALUE to q; CTL_OPT_ALL (--all) sets all. For
 * ctl_getopt(..., ctl_on_list_opt, &list, ...). */
#define CTL_OPT_ALL 200
struct ctl_list {
    const char *const *params;
    size_t n_params;
    char q[4096];
    int all;
};
int ctl_on_list_opt(int o, const char *arg, void *ud);
int ctl_list_pages(struct ctl *c, const char *base, char *query, size_t qlen, int all,
                   const char *key, void (*row)(struct ctl_table *t, json_t *o),
                   struct ctl_table *t);
void ctl_delivery_row(struct ctl_table *t, json_t *d);
/* POST {"reason"} to path; prints "<label>: <action> (now <state>)". */
int ctl_post(struct ctl *c, const char *path, const char *reason, const char *label);

int ctl_status(struct ctl *c, int argc, char **argv);
int ctl_items(struct ctl *c, int argc, char **argv);
int ctl_show(struct ctl *c, int argc, char **argv);
int ctl_deliveries(struct ctl *c, int argc, char **argv);
int ctl_retry(struct ctl *c, int argc, char **argv);
int ctl_cancel(struct ctl *c, int argc, char **argv);
int ctl_release(struct ctl *c, int argc, char **argv);
int ctl_resolve(struct ctl *c, int argc, char **argv);
int ctl_retract(struct ctl *c, int argc, char **argv);
int ctl_pause(struct ctl *c, int argc, char **argv);
int ctl_resume(struct ctl *c, int argc, char **argv);
int ctl_unpark(struct ctl *c, int argc, char **argv);
int ctl_dlq(struct ctl *c, int argc, char **argv);
int ctl_credentials(struct ctl *c, int argc, char **argv);
int ctl_report(struct ctl *c, int argc, char **argv);
int ctl_audit(struct ctl *c, int argc, char **argv);

#endif
