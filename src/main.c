/*
 * heraldd: parse arguments, load the configuration, run (daemon.c) — or check a configuration,
 * list adapters, or run the self-contained demo (demo.c).
 */
#include <getopt.h>
#include <stdio.h>

#include "common.h"
#include "config.h"
#include "daemon.h"
#include "engine.h"
#include "demo.h"
#include "listing.h"
#include "registry.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: heraldd -c FILE [--ready-file PATH]   run the daemon\n"
            "       heraldd --check-config FILE           check a configuration and exit\n"
            "       heraldd --list-channels [--json] [-c FILE]\n"
            "                                             list adapters and their settings (with\n"
            "                                             FILE: also those in its plugin_dir)\n"
            "       heraldd --config-reference            every setting, as Markdown\n"
            "       heraldd --demo [--once] [--seeds DIR] run with an embedded Kafka and the\n"
            "                                             channel simulators, publishing seeds/\n"
            "       heraldd --version\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'k'},
        {"list-channels", no_argument, NULL, 'l'},
        {"config-reference", no_argument, NULL, 'R'},
        {"json", no_argument, NULL, 'j'},
        {"ready-file", required_argument, NULL, 'r'},
        {"demo", no_argument, NULL, 'd'},
        {"once", no_argument, NULL, 'o'},
        {"seeds", required_argument, NULL, 's'},
        {"state-dir", required_argument, NULL, 'S'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *check = NULL, *ready = NULL, *seeds = NULL, *state_dir = NULL;
    int list = 0, json = 0, demo = 0, once = 0, reference = 0, c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'k':
            check = optarg;
            break;
        case 'l':
            list = 1;
            break;
        case 'R':
            reference = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'r':
            ready = optarg;
            break;
        case 'd':
            demo = 1;
            break;
        case 'o':
            once = 1;
            break;
        case 's':
            seeds = optarg;
            break;
        case 'S':
            state_dir = optarg;
            break;
        case 'V':
            printf("heraldd %s (adapter ABI %d)\n", HERALD_VERSION, HD_ABI_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "heraldd: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    char err[512];
    struct hd_registry *reg = NULL;
    if (hd_registry_create(hd_builtin_channels, &reg, err, sizeof(err)) != 0) {
        fprintf(stderr, "heraldd: %s\n", err);
        return 1;
    }
    if (reference) {
        hd_config_reference(stdout, reg); /* the built-in adapters: the reference of this build */
        hd_registry_destroy(reg);
        return 0;
    }
    if (demo) {
        int rc = hd_demo_run(reg, seeds, state_dir, once);
        hd_registry_destroy(reg);
        return rc;
    }
    const char *path = check ? check : config;
    if (list && !check) {
        /* only plugin_dir of FILE: the rest of it may still be a draft */
        struct hd_diag d;
        hd_diag_init(&d);
        int bad = path ? hd_list_load_plugins(path, reg, &d) : 0;
        fprintf(stderr, "%s", d.text ? d.text : "");
        hd_diag_free(&d);
        hd_list_channels(stdout, reg, json);
        hd_registry_destroy(reg);
        return bad ? 1 : 0;
    }
    if (!path && !list) {
        usage(stderr);
        hd_registry_destroy(reg);
        return 2;
    }
    struct hd_config *cfg = NULL;
    if (path) {
        struct hd_diag d;
        hd_diag_init(&d);
        if (hd_config_load(path, reg, &cfg, &d) != 0) {
            fprintf(stderr, "%s", d.text ? d.text : "");
            fprintf(stderr, "heraldd: %s: %d error(s)\n", path, d.n_errors);
            hd_diag_free(&d);
            hd_registry_destroy(reg);
            return 1;
        }
        hd_diag_free(&d);
    }
    int rc = 0;
    if (list) {
        hd_list_channels(stdout, reg, json);
    } else if (check) {
        /* what a start would refuse: each adapter's own checks in its create() */
        struct hd_diag d;
        hd_diag_init(&d);
        int level = hd_log_level;
        hd_log_set_level(HD_LOG_WARN); /* not the throw-away store's migration notes */
        int refused = hd_engine_check_adapters(cfg, &d);
        hd_log_set_level(level);
        if (refused) {
            fprintf(stderr, "%s", d.text ? d.text : "");
            fprintf(stderr, "heraldd: %s: %d error(s)\n", check, d.n_errors);
            rc = 1;
        } else {
            printf("%s: ok (%zu channel instance(s), %zu route(s))\n", check, cfg->n_instances,
                   cfg->n_routes);
        }
        hd_diag_free(&d);
    } else {
        struct hd_daemon_opts o = {.ready_file = ready};
        rc = hd_daemon_run(cfg, reg, &o, NULL);
    }
    hd_config_free(cfg);
    hd_registry_destroy(reg);
    return rc;
}
