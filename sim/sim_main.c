/*
 * herald-sim: runs the channel simulators (all built-in ones, or those named with --only) on
 * ephemeral 127.0.0.1 ports until SIGTERM or SIGINT. Tests start it with --ports-file and wait
 * for that file: it is written (temp file + rename) only once every simulator listens.
 *
 *   herald-sim [--config FILE.json] [--only name,name] [--ports-file PATH] [--verbose]
 *
 * Exit status: 0 after a clean stop, 2 for bad arguments or config, 1 for other failures.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <event2/event.h>

#include "common.h"
#include "sim.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: herald-sim [--config FILE.json] [--only name,name] [--ports-file PATH] "
                 "[--verbose]\nsimulators:");
    for (size_t i = 0; hd_builtin_sims[i]; i++)
        fprintf(out, " %s", hd_builtin_sims[i]->name);
    fprintf(out, "\n");
}

/* Splits "a,b" into a NULL-terminated array (strings point into `list`, which it edits). */
static char **split_names(char *list)
{
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char **names = calloc(n + 1, sizeof(*names));
    if (!names)
        return NULL;
    size_t i = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
        names[i++] = tok;
    return names;
}

static int write_ports_file(const char *path, const json_t *urls)
{
    char *tmp = hd_asprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = -1;
    if (!tmp)
        return -1;
    if (json_dump_file(urls, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
        rc = 0;
    else
        fprintf(stderr, "herald-sim: cannot write %s: %s\n", path, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct event_base *base = arg;
    hd_info("herald-sim: signal %d, stopping", (int)sig);
    event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"only", required_argument, NULL, 'o'},
        {"ports-file", required_argument, NULL, 'p'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *ports_file = NULL;
    char *only = NULL;
    char **names = NULL;
    json_t *config = NULL, *urls = NULL;
    struct event_base *base = NULL;
    struct event *ev_term = NULL, *ev_int = NULL;
    struct hd_sim_set *set = NULL;
    int status = 1, opt;

    while ((opt = getopt_long(argc, argv, "c:o:p:vh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'o':
            only = optarg;
            break;
        case 'p':
            ports_file = optarg;
            break;
        case 'v':
            hd_log_set_level(HD_LOG_DEBUG);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (config_path) {
        json_error_t err;
        config = json_load_file(config_path, JSON_REJECT_DUPLICATES, &err);
        if (!config) {
            fprintf(stderr, "herald-sim: %s:%d:%d: %s\n", config_path, err.line, err.column,
                    err.text);
            return 2;
        }
        if (!json_is_object(config)) {
            fprintf(stderr, "herald-sim: %s: the config must be a JSON object\n", config_path);
            status = 2;
            goto done;
        }
    }
    if (only) {
        names = split_names(only);
        if (!names || !names[0]) {
            fprintf(stderr, "herald-sim: --only needs at least one simulator name\n");
            status = 2;
            goto done;
        }
    }

    signal(SIGPIPE, SIG_IGN); /* a client that went away must not kill us mid-write */
    base = event_base_new();
    if (!base) {
        fprintf(stderr, "herald-sim: event_base_new failed\n");
        goto done;
    }
    int rc = hd_sim_set_start(base, (const char *const *)names, config, &set);
    if (rc < 0) {
        fprintf(stderr, "herald-sim: cannot start the simulators (%s)\n",
                rc == HD_EINVAL ? "bad arguments or config, see above" : "system error");
        status = rc == HD_EINVAL ? 2 : 1;
        goto done;
    }
    urls = hd_sim_set_urls(set);
    const char *name;
    json_t *url;
    json_object_foreach (urls, name, url)
        printf("herald-sim: %s %s\n", name, json_string_value(url));
    fflush(stdout);

    ev_term = evsignal_new(base, SIGTERM, on_signal, base);
    ev_int = evsignal_new(base, SIGINT, on_signal, base);
    if (!ev_term || !ev_int || evsignal_add(ev_term, NULL) < 0 || evsignal_add(ev_int, NULL) < 0) {
        fprintf(stderr, "herald-sim: cannot watch signals\n");
        goto done;
    }
    if (ports_file && write_ports_file(ports_file, urls) < 0)
        goto done;
    if (event_base_dispatch(base) < 0) {
        fprintf(stderr, "herald-sim: event loop failed\n");
        goto done;
    }
    status = 0;
done:
    hd_sim_set_stop(set);
    if (ev_term)
        event_free(ev_term);
    if (ev_int)
        event_free(ev_int);
    if (base)
        event_base_free(base);
    json_decref(urls);
    json_decref(config);
    free(names);
    libevent_global_shutdown();
    return status;
}
