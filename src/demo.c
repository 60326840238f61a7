/*
 * heraldd --demo: everything in one process, nothing to install or configure.
 *
 * An embedded Kafka (librdkafka's mock cluster), every channel's simulator (herald-sim's, on this
 * process's loop), and heraldd itself with seeds/demo/herald.yaml filled in; then the seed items
 * of seeds/items are published: first all but revisions and retractions, then — once what they
 * change is out — those, so the demo shows an update in place and a withdrawal. Times are moved
 * to now (embargoes end in seconds, display windows close in half a minute) and the items'
 * images and attachments are served by the assets simulator. With --once it waits until every
 * delivery is final, prints the items × channels table, and exits 0 only when every delivery
 * ended as seeds/expect.tsv says.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <sqlite3.h>

#include "common.h"
#include "config.h"
#include "daemon.h"
#include "delivery.h"
#include "demo.h"
#include "item.h"
#include "registry.h"
#include "sim.h"
#include "text.h"

#ifndef HERALD_DATADIR
#define HERALD_DATADIR "/usr/share"
#endif

#define DEMO_DEADLINE_S 120
#define EMBARGO_S       10 /* schedule.not_before moves to now + this */
#define WINDOW_S        25 /* schedule.expires_at moves to now + this */

struct seed {
    char *file;
    char *id;
    int64_t version;
    int second_wave; /* a revision or a retraction: after what it changes is out */
    json_t *doc;
};

struct demo {
    struct event_base *base;
    const char *seeds;
    char state[4096];
    char secret[65];
    rd_kafka_t *mock_rk;
    char *brokers;
    struct hd_sim_set *sims;
    struct seed *seeds_v;
    size_t n_seeds;
    int wave;
    int once;
    int shown;
    int64_t started_ms;
    struct hd_daemon *d;
    struct event *tick;
    sqlite3 *db;
    int result;
    char admin_url[300];
    char token[65];
};

/* ---- files and text ------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *b = realloc(buf, cap + 1);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return HD_EIO;
    ssize_t w = write(fd, data, len);
    close(fd);
    return w == (ssize_t)len ? 0 : HD_EIO;
}

/* Replace every ${NAME} of text with vars[NAME] (a JSON object of strings). */
static char *fill(const char *text, json_t *vars)
{
    size_t cap = strlen(text) * 2 + 1024, n = 0;
    char *out = malloc(cap);
    for (const char *p = text; out && *p;) {
        const char *end = p[0] == '$' && p[1] == '{' ? strchr(p, '}') : NULL;
        const char *val = NULL;
        size_t skip = 1;
        if (end) {
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)(end - p - 2), p + 2);
            val = json_string_value(json_object_get(vars, name));
            skip = (size_t)(end - p) + 1;
        }
        const char *piece = val ? val : p;
        size_t plen = val ? strlen(val) : skip;
        if (n + plen + 1 > cap) {
            cap = (n + plen + 1) * 2;
            char *o = realloc(out, cap);
            if (!o) {
                free(out);
                return NULL;
            }
            out = o;
        }
        memcpy(out + n, piece, plen);
        n += plen;
        p += skip;
    }
    if (out)
        out[n] = '\0';
    return out;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char b[32];
    if (getrandom(b, bytes, 0) != (ssize_t)bytes)
        for (size_t i = 0; i < bytes; i++)
            b[i] = (unsigned char)(hd_mono_ms() * 31 + i * 7);
    for (size_t i = 0; i < bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static const char *find_seeds(const char *given)
{
    static char buf[4096];
    const char *env = getenv("HERALD_SEEDS");
    const char *cands[] = {given, env, "seeds", HERALD_DATADIR "/herald/seeds"};
    for (size_t i = 0; i < HD_ARRAY_LEN(cands); i++) {
        if (!cands[i])
            continue;
        snprintf(buf, sizeof(buf), "%s/demo/herald.yaml", cands[i]);
        if (access(buf, R_OK) == 0)
            return cands[i];
    }
    return NULL;
}

/* ---- seeds: load and rewrite for now ----------------------------------------------------------
 */

static void rewrite_assets(json_t *arr, const char *assets_url)
{
    size_t i;
    json_t *a;
    json_array_foreach (arr, i, a) {
        const char *url = json_string_value(json_object_get(a, "url"));
        json_int_t size = json_integer_value(json_object_get(a, "size"));
        if (!url || size < 16)
            continue;
        const char *path = strstr(url, "://");
        path = path ? strchr(path + 3, '/') : NULL;
        if (!path)
            continue;
        const char *ct;
        char *bytes = hd_sim_asset_bytes(path + 1, (size_t)size, &ct);
        if (!bytes)
            continue;
        char hex[65], *nu = hd_asprintf("%s/a/%lld%s", assets_url, (long long)size, path);
        hd_sha256_hex(bytes, (size_t)size, hex);
        free(bytes);
        json_object_set_new(a, "url", json_string(nu));
        json_object_set_new(a, "sha256", json_string(hex));
        free(nu);
    }
}

static void shift(json_t *obj, const char *key, int64_t delta)
{
    int64_t ms;
    char t[40];
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v || hd_time_parse_rfc3339(v, &ms) != 0)
        return;
    hd_time_format_rfc3339(ms + delta, t);
    json_object_set_new(obj, key, json_string(t));
}

/* The seeds were approved in 2026; the demo publishes them as approved minutes ago (keeping the
 * order of the review steps), with embargoes and display windows of seconds. */
static void rewrite_times(json_t *doc, int64_t now, size_t index)
{
    int64_t approved;
    const char *a = json_string_value(json_object_get(doc, "approved_at"));
    if (a && hd_time_parse_rfc3339(a, &approved) == 0) {
        int64_t delta = now - 10 * 60 * 1000 + (int64_t)index * 1000 - approved;
        shift(doc, "approved_at", delta);
        size_t i;
        json_t *step;
        json_array_foreach (json_object_get(doc, "review"), i, step)
            shift(step, "at", delta);
    }
    json_t *sch = json_object_get(doc, "schedule");
    if (!sch)
        return;
    char t[40];
    int64_t nb = 0;
    if (json_object_get(sch, "not_before")) {
        nb = now + EMBARGO_S * 1000;
        hd_time_format_rfc3339(nb, t);
        json_object_set_new(sch, "not_before", json_string(t));
    }
    if (json_object_get(sch, "expires_at")) {
        hd_time_format_rfc3339((nb ? nb : now) + WINDOW_S * 1000, t);
        json_object_set_new(sch, "expires_at", json_string(t));
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_seeds(struct demo *dm)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/items", dm->seeds);
    DIR *dh = opendir(dir);
    if (!dh)
        return HD_EIO;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh)))
        if (strstr(de->d_name, ".json")) {
            names = realloc(names, (n + 1) * sizeof(*names));
            names[n++] = strdup(de->d_name);
        }
    closedir(dh);
    qsort(names, n, sizeof(*names), cmp_str);
    dm->seeds_v = calloc(n + 1, sizeof(*dm->seeds_v));
    int64_t now = hd_now_ms();
    const char *assets = hd_sim_set_url(dm->sims, "assets");
    for (size_t i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        json_error_t je;
        json_t *doc = json_load_file(path, 0, &je);
        if (!doc) {
            fprintf(stderr, "heraldd --demo: %s: %s\n", path, je.text);
            free(names[i]);
            continue;
        }
        struct seed *s = &dm->seeds_v[dm->n_seeds++];
        s->file = names[i];
        s->id = strdup(json_string_value(json_object_get(doc, "id")));
        s->version = json_integer_value(json_object_get(doc, "version"));
        const char *action = json_string_value(json_object_get(doc, "action"));
        s->second_wave = s->version > 1 || (action && strcmp(action, "retract") == 0);
        rewrite_times(doc, now, i);
        if (assets) {
            rewrite_assets(json_object_get(doc, "images"), assets);
            rewrite_assets(json_object_get(doc, "attachments"), assets);
        }
        s->doc = doc;
    }
    free(names);
    return 0;
}

static void produce_wave(struct demo *dm, int wave)
{
    int n = 0;
    for (size_t i = 0; i < dm->n_seeds; i++) {
        struct seed *s = &dm->seeds_v[i];
        if (s->second_wave != wave)
            continue;
        char *v = json_dumps(s->doc, JSON_COMPACT);
        rd_kafka_resp_err_t err =
            rd_kafka_producev(dm->mock_rk, RD_KAFKA_V_TOPIC("herald.items"),
                              RD_KAFKA_V_KEY(s->id, strlen(s->id)), RD_KAFKA_V_VALUE(v, strlen(v)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        free(v);
        if (err)
            fprintf(stderr, "heraldd --demo: producing %s: %s\n", s->file, rd_kafka_err2str(err));
        else
            n++;
    }
    rd_kafka_flush(dm->mock_rk, 10000);
    printf("demo: published %d seed item(s)%s\n", n, wave ? " (revisions and retractions)" : "");
    fflush(stdout);
}

/* ---- watching ------------------------------------------------------------------------------- */

static int64_t one(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Every delivery of the first wave's items that the second wave changes is out. */
static int first_wave_out(struct demo *dm)
{
    for (size_t i = 0; i < dm->n_seeds; i++) {
        if (!dm->seeds_v[i].second_wave)
            continue;
        int64_t open = one(dm->db,
                           "SELECT COUNT(*) FROM deliveries WHERE item_id = ?1 AND state NOT IN"
                           " ('delivered','failed','manual_action','expired','cancelled')",
                           dm->seeds_v[i].id);
        int64_t any =
            one(dm->db, "SELECT COUNT(*) FROM deliveries WHERE item_id = ?1", dm->seeds_v[i].id);
        if (open != 0 || any <= 0)
            return 0;
    }
    return 1;
}

static int all_final(struct demo *dm)
{
    int64_t items = one(dm->db, "SELECT COUNT(*) FROM items", NULL);
    int64_t open = one(dm->db,
                       "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending','held','sending',"
                       "'waiting_retry','publishing','reconciling','parked','retracting')"
                       " OR (state = 'delivered' AND next_at IS NOT NULL)",
                       NULL);
    return items == (int64_t)dm->n_seeds && open == 0;
}

struct cell {
    char instance[64];
    int counts[HD_D_MAX];
};

static void print_table(struct demo *dm)
{
    sqlite3_stmt *st;
    static const char *const insts[] = {"website:portal", "wechat:yuexiu", "weibo:yuexiu",
                                        "ejiatong:streets", "display_board:halls"};
    printf("\n%-34s %-5s", "item", "ver");
    for (size_t k = 0; k < HD_ARRAY_LEN(insts); k++)
        printf(" %-22s", insts[k]);
    printf("\n");
    if (sqlite3_prepare_v2(
            dm->db,
            "SELECT item_id, version, state FROM items ORDER BY received_at, item_id,"
            " version",
            -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        int64_t v = sqlite3_column_int64(st, 1);
        const char *istate = (const char *)sqlite3_column_text(st, 2);
        printf("%-34.34s %-5lld", id, (long long)v);
        for (size_t k = 0; k < HD_ARRAY_LEN(insts); k++) {
            sqlite3_stmt *q;
            char cell[64] = "";
            sqlite3_prepare_v2(dm->db,
                               "SELECT state, COUNT(*) FROM deliveries WHERE item_id = ?1 AND"
                               " version = ?2 AND instance = ?3 GROUP BY state ORDER BY 2 DESC",
                               -1, &q, NULL);
            sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 2, v);
            sqlite3_bind_text(q, 3, insts[k], -1, SQLITE_STATIC);
            size_t off = 0;
            while (sqlite3_step(q) == SQLITE_ROW && off < sizeof(cell) - 1) {
                int c = sqlite3_column_int(q, 1);
                const char *s = (const char *)sqlite3_column_text(q, 0);
                off += (size_t)snprintf(cell + off, sizeof(cell) - off, c > 1 ? "%s%s×%d" : "%s%s",
                                        off ? "," : "", s, c);
            }
            sqlite3_finalize(q);
            if (!cell[0] && k == 0 && istate && strcmp(istate, "accepted") != 0)
                snprintf(cell, sizeof(cell), "(%s)", istate);
            printf(" %-22s", cell[0] ? cell : "-");
        }
        printf("\n");
    }
    sqlite3_finalize(st);
    fflush(stdout);
}

/* seeds/expect.tsv: item, version, instance, target ("*" = each), state. */
static int check_expectations(struct demo *dm)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/expect.tsv", dm->seeds);
    char *text = read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "demo: no %s\n", path);
        return 1;
    }
    int bad = 0, lines = 0;
    char *save = NULL;
    sqlite3_exec(dm->db, "CREATE TEMP TABLE seen (id INTEGER PRIMARY KEY)", NULL, NULL, NULL);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !line[0])
            continue;
        char item[200], inst[80], target[80], state[40];
        long long v;
        if (sscanf(line, "%199s %lld %79s %79s %39s", item, &v, inst, target, state) != 5) {
            fprintf(stderr, "demo: expect.tsv: cannot read: %s\n", line);
            bad++;
            continue;
        }
        lines++;
        sqlite3_stmt *q;
        sqlite3_prepare_v2(dm->db,
                           "SELECT id, target, state, reason FROM deliveries WHERE item_id = ?1 AND"
                           " version = ?2 AND instance = ?3 AND (?4 = '*' OR target = ?4)",
                           -1, &q, NULL);
        sqlite3_bind_text(q, 1, item, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, v);
        sqlite3_bind_text(q, 3, inst, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, target, -1, SQLITE_STATIC);
        int found = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            found++;
            char ins[80];
            snprintf(ins, sizeof(ins), "INSERT OR IGNORE INTO seen VALUES (%lld)",
                     (long long)sqlite3_column_int64(q, 0));
            sqlite3_exec(dm->db, ins, NULL, NULL, NULL);
            const char *got = (const char *)sqlite3_column_text(q, 2);
            if (strcmp(got, state) != 0) {
                const char *r = (const char *)sqlite3_column_text(q, 3);
                printf("demo: MISMATCH %s v%lld %s %s: %s (%s), expected %s\n", item, v, inst,
                       (const char *)sqlite3_column_text(q, 1), got, r ? r : "-", state);
                bad++;
            }
        }
        sqlite3_finalize(q);
        if (!found) {
            printf("demo: MISSING %s v%lld %s %s: no such delivery\n", item, v, inst, target);
            bad++;
        }
    }
    free(text);
    int64_t unlisted =
        one(dm->db, "SELECT COUNT(*) FROM deliveries WHERE id NOT IN (SELECT id FROM seen)", NULL);
    if (unlisted > 0) {
        printf("demo: %lld delivery(ies) that seeds/expect.tsv does not list\n",
               (long long)unlisted);
        bad++;
    }
    printf("demo: %d expectation line(s), %s\n", lines, bad ? "MISMATCHES above" : "all met");
    return bad ? 1 : 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct demo *dm = arg;
    if (!dm->db) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/herald.db", dm->state);
        if (sqlite3_open_v2(path, &dm->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(dm->db);
            dm->db = NULL;
            return;
        }
        sqlite3_busy_timeout(dm->db, 2000);
    }
    if (dm->wave == 0 && first_wave_out(dm)) {
        dm->wave = 1;
        produce_wave(dm, 1);
        return;
    }
    int done = dm->wave == 1 && all_final(dm);
    int late = hd_now_ms() - dm->started_ms > DEMO_DEADLINE_S * 1000;
    if ((done || late) && !dm->shown) {
        dm->shown = 1;
        print_table(dm);
        if (late && !done)
            printf("demo: not every delivery was final after %d s\n", DEMO_DEADLINE_S);
        dm->result = check_expectations(dm) || !done;
        if (dm->once) {
            hd_daemon_request_stop(dm->d, dm->result, "demo finished");
        } else {
            printf("\ndemo: still running. Dashboard %s/ (token in %s/admin.token), "
                   "metrics %s/metrics. Ctrl-C stops it.\n",
                   dm->admin_url, dm->state, dm->admin_url);
            fflush(stdout);
        }
    }
}

static void on_started(void *arg, struct hd_daemon *d)
{
    struct demo *dm = arg;
    dm->d = d;
    dm->started_ms = hd_now_ms();
    produce_wave(dm, 0);
    dm->tick = event_new(dm->base, -1, EV_PERSIST, on_tick, dm);
    struct timeval tv = {0, 250 * 1000};
    event_add(dm->tick, &tv);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int start_kafka(struct demo *dm, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char e[256];
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", e, sizeof(e)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "3", e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "mock cluster: %s", e);
        rd_kafka_conf_destroy(conf);
        return HD_EIO;
    }
    dm->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!dm->mock_rk) {
        snprintf(err, errlen, "mock cluster: %s", e);
        rd_kafka_conf_destroy(conf);
        return HD_EIO;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(dm->mock_rk);
    dm->brokers = strdup(rd_kafka_mock_cluster_bootstraps(mc));
    rd_kafka_mock_topic_create(mc, "herald.items", 4, 1);
    rd_kafka_mock_topic_create(mc, "herald.status", 4, 1);
    rd_kafka_mock_topic_create(mc, "herald.dlq", 1, 1);
    return 0;
}

int hd_demo_run(struct hd_registry *reg, const char *seeds_dir, const char *state_dir, int once)
{
    struct demo dm = {.once = once, .result = 1};
    char err[9000] = "", path[4300];
    int rc = 1;
    struct hd_config *cfg = NULL;
    char *text = NULL, *filled = NULL;
    json_t *vars = NULL, *simconf = NULL;
    dm.seeds = find_seeds(seeds_dir);
    if (!dm.seeds) {
        fprintf(stderr, "heraldd --demo: no seeds directory (give --seeds DIR, or run it from the "
                        "source tree)\n");
        return 2;
    }
    if (state_dir) {
        hd_strlcpy(dm.state, state_dir, sizeof(dm.state));
        mkdir(dm.state, 0700);
    } else {
        hd_strlcpy(dm.state, "/tmp/herald-demo-XXXXXX", sizeof(dm.state));
        if (!mkdtemp(dm.state)) {
            perror("heraldd --demo: mkdtemp");
            return 1;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    random_hex(dm.secret, 32);
    random_hex(dm.token, 24);
    char secret_file[4200], token_file[4200], cover[4200];
    snprintf(secret_file, sizeof(secret_file), "%s/channel.secret", dm.state);
    snprintf(token_file, sizeof(token_file), "%s/admin.token", dm.state);
    snprintf(cover, sizeof(cover), "%s/wechat-default-cover.jpg", dm.state);
    const char *ct;
    char *jpg = hd_sim_asset_bytes("demo/wechat-default-cover.jpg", 24 * 1024, &ct);
    if (write_file(secret_file, dm.secret, strlen(dm.secret), 0600) ||
        write_file(token_file, dm.token, strlen(dm.token), 0600) || !jpg ||
        write_file(cover, jpg, 24 * 1024, 0644)) {
        fprintf(stderr, "heraldd --demo: cannot write into %s: %s\n", dm.state, strerror(errno));
        free(jpg);
        return 1;
    }
    free(jpg);
    dm.base = event_base_new();
    if (start_kafka(&dm, err, sizeof(err)) != 0)
        goto out;
    int admin_port = free_port(), wechat_port = free_port();
    char buf[64];
    vars = json_object();
    json_object_set_new(vars, "SECRET", json_string(dm.secret));
    json_object_set_new(vars, "STATE", json_string(dm.state));
    json_object_set_new(vars, "BROKERS", json_string(dm.brokers));
    json_object_set_new(vars, "SECRET_FILE", json_string(secret_file));
    json_object_set_new(vars, "TOKEN_FILE", json_string(token_file));
    json_object_set_new(vars, "COVER", json_string(cover));
    snprintf(buf, sizeof(buf), "%d", admin_port);
    json_object_set_new(vars, "ADMIN_PORT", json_string(buf));
    snprintf(buf, sizeof(buf), "%d", wechat_port);
    json_object_set_new(vars, "WECHAT_PORT", json_string(buf));
    snprintf(buf, sizeof(buf), "http://127.0.0.1:%d/wechat/events", wechat_port);
    json_object_set_new(vars, "WECHAT_CALLBACK", json_string(buf));
    snprintf(path, sizeof(path), "%s/demo/sims.json", dm.seeds);
    text = read_file(path, NULL);
    filled = text ? fill(text, vars) : NULL;
    json_error_t je;
    simconf = filled ? json_loads(filled, 0, &je) : NULL;
    if (!simconf) {
        snprintf(err, sizeof(err), "%s: %s", path, text ? je.text : strerror(errno));
        goto out;
    }
    free(text);
    free(filled);
    text = filled = NULL;
    if (hd_sim_set_start(dm.base, NULL, simconf, &dm.sims) != 0) {
        snprintf(err, sizeof(err), "the simulators did not start (see above)");
        goto out;
    }
    json_t *urls = hd_sim_set_urls(dm.sims);
    const char *name;
    json_t *u;
    json_object_foreach (urls, name, u) {
        char key[80];
        snprintf(key, sizeof(key), "SIM_%s", name);
        json_object_set(vars, key, u);
    }
    json_decref(urls);
    snprintf(path, sizeof(path), "%s/demo/herald.yaml", dm.seeds);
    text = read_file(path, NULL);
    filled = text ? fill(text, vars) : NULL;
    char cfg_path[4300];
    snprintf(cfg_path, sizeof(cfg_path), "%s/herald.yaml", dm.state);
    if (!filled || write_file(cfg_path, filled, strlen(filled), 0600) != 0) {
        snprintf(err, sizeof(err), "cannot write %s", cfg_path);
        goto out;
    }
    struct hd_diag diag;
    hd_diag_init(&diag);
    if (hd_config_load(cfg_path, reg, &cfg, &diag) != 0) {
        fprintf(stderr, "%s", diag.text ? diag.text : "");
        hd_diag_free(&diag);
        snprintf(err, sizeof(err), "the demo configuration %s is not valid", cfg_path);
        goto out;
    }
    hd_diag_free(&diag);
    if (load_seeds(&dm) != 0 || dm.n_seeds == 0) {
        snprintf(err, sizeof(err), "no seed items in %s/items", dm.seeds);
        goto out;
    }
    snprintf(dm.admin_url, sizeof(dm.admin_url), "http://127.0.0.1:%d", admin_port);
    printf("demo: state in %s; embedded Kafka %s; %zu seed items; dashboard %s/ (token: %s)\n",
           dm.state, dm.brokers, dm.n_seeds, dm.admin_url, dm.token);
    fflush(stdout);
    struct hd_daemon_opts o = {.base = dm.base};
    struct hd_daemon_hooks hooks = {.started = on_started, .arg = &dm};
    int code = hd_daemon_run(cfg, reg, &o, &hooks);
    rc = dm.shown ? dm.result : code ? code : 1;
out:
    if (err[0])
        fprintf(stderr, "heraldd --demo: %s\n", err);
    if (dm.tick)
        event_free(dm.tick);
    if (dm.db)
        sqlite3_close(dm.db);
    hd_sim_set_stop(dm.sims);
    hd_config_free(cfg);
    for (size_t i = 0; i < dm.n_seeds; i++) {
        free(dm.seeds_v[i].file);
        free(dm.seeds_v[i].id);
        json_decref(dm.seeds_v[i].doc);
    }
    free(dm.seeds_v);
    json_decref(vars);
    json_decref(simconf);
    free(text);
    free(filled);
    if (dm.mock_rk)
        rd_kafka_destroy(dm.mock_rk);
    free(dm.brokers);
    if (dm.base)
        event_base_free(dm.base);
    return rc;
}
