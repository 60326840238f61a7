/*
 * herald-conformance: run the adapter contract (include/herald/channel.h) against one adapter,
 * built in or loaded from a .so, and report each check. docs/ADAPTERS.md lists the checks; kit.h
 * says how the kit is built. Exit status: 0 every check passed (warnings allowed), 1 a check
 * failed, 2 the kit could not run (usage, the adapter does not load, no settings).
 */
#include <getopt.h>
#include <stdarg.h>
#include <unistd.h>

#include <jansson.h>

#include "common.h"
#include "config.h"
#include "kit.h"
#include "registry.h"

static struct kit kit;
static int n_checks, n_failed, n_warned, n_skipped, last_shown;
static char only[512];

static void usage(FILE *f)
{
    fprintf(f, "usage: herald-conformance ADAPTER [--so FILE] [--config FILE] [--sim URL]\n"
               "                          [--timeout DURATION] [--dep-url URL] [--only LIST] [-v]\n"
               "  ADAPTER         the adapter's name (a built-in, or the one FILE holds)\n"
               "  --so FILE       load the adapter from FILE, as heraldd loads plugin_dir\n"
               "  --config FILE   the instance's settings (YAML mapping, as under channels.<id>);\n"
               "                  @SIM@ stands for the kit's proxy URL, @ASSETS@ for its files\n"
               "  --sim URL       the platform's simulator, behind the kit's fault proxy; without\n"
               "                  it the proxy answers like an echo server and only the contract\n"
               "                  (not the platform's verdicts) is checked\n"
               "  --timeout D     the instance's timeout and connect_timeout (default 2s)\n"
               "  --dep-url URL   prefix of the portal URLs render sees as a dependency's result\n"
               "                  (default https://www.yuexiu.gov.cn/zwgk/a/)\n"
               "  --only LIST     comma-separated check name prefixes (render,send.timeout,...)\n"
               "  -v, --verbose   show every detail line (twice: the adapter's debug log)\n");
}

/* ---- reporting ----------------------------------------------------------------------------------
 */

int kit_wanted(const char *name)
{
    if (!only[0])
        return 1;
    char list[sizeof(only)];
    snprintf(list, sizeof(list), "%s", only);
    char *save = NULL;
    for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
        if (!strncmp(name, p, strlen(p)) || !strncmp(p, name, strlen(name)))
            return 1;
    return 0;
}

void kit_report(enum kit_verdict v, const char *name, const char *fmt, ...)
{
    static const char *const tags[] = {"ok  ", "warn", "FAIL", "skip"};
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    n_checks++;
    n_failed += v == KIT_FAIL;
    n_warned += v == KIT_WARN;
    n_skipped += v == KIT_SKIP;
    last_shown = v == KIT_FAIL || v == KIT_WARN; /* their notes are always shown */
    printf("%s %3d %s: %s\n", tags[v], n_checks, name, msg);
    fflush(stdout);
}

void kit_note(const char *fmt, ...)
{
    if (!kit.verbose && !last_shown)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("         %s\n", msg);
    fflush(stdout);
}

static const char *caps_text(unsigned caps, char *buf, size_t len)
{
    static const char *const names[] = {"idempotent", "retract",      "update",
                                        "windowed",   "multi-target", "poll"};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < HD_ARRAY_LEN(names); i++)
        if (caps & (1u << i))
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", names[i]);
    return buf[0] ? buf : "none";
}

/* ---- the run
 * ------------------------------------------------------------------------------------- */

static int load_adapter(const char *name, const char *so)
{
    char err[1400];
    if (hd_registry_create(hd_builtin_channels, &kit.reg, err, sizeof(err)) != 0) {
        fprintf(stderr, "herald-conformance: %s\n", err);
        return 2;
    }
    if (so && hd_registry_load_file(kit.reg, so, err, sizeof(err)) != 0) {
        kit_report(KIT_FAIL, "abi.load", "heraldd would refuse it: %s", err);
        return 1;
    }
    kit.chan = hd_registry_find(kit.reg, name);
    if (!kit.chan) {
        fprintf(stderr, "herald-conformance: no adapter named %s%s%s\n", name,
                so ? " in " : " (built-in; use --so FILE for a loadable one)", so ? so : "");
        return 2;
    }
    kit.origin = hd_registry_origin(kit.reg, name);
    if (so && strcmp(kit.origin, so) != 0) {
        kit_report(KIT_FAIL, "abi.load", "%s holds no adapter %s (%s is %s)", so, name, name,
                   kit.origin);
        return 1;
    }
    char caps[200];
    kit_report(KIT_PASS, "abi.load",
               "%s %s (%s): ABI %u, struct of %u bytes, build signature matches, capabilities: "
               "%s",
               kit.chan->name, kit.chan->version ? kit.chan->version : "?", kit.origin,
               kit.chan->abi_version, kit.chan->struct_size,
               caps_text(kit.chan->caps, caps, sizeof(caps)));
    kit_note("the registry's checks passed: name, callbacks for the capabilities, key table "
             "(hd_conf_keys_validate), no core key redeclared");
    return 0;
}

static int run(void)
{
    char err[2048];
    if (kit_host_init(&kit, err, sizeof(err)) != 0 ||
        kit_proxy_start(kit.base, kit.sim_url, &kit.proxy, err, sizeof(err)) != 0) {
        fprintf(stderr, "herald-conformance: %s\n", err);
        return 2;
    }
    if (kit_assets_start(kit.base, &kit.assets) != 0) {
        fprintf(stderr, "herald-conformance: cannot start the asset server\n");
        return 2;
    }
    struct hd_node *settings = NULL;
    if (kit_settings_load(&kit, &settings, err, sizeof(err)) != 0) {
        fprintf(stderr, "herald-conformance: %s\n", err);
        return 2;
    }
    int rc = kit_check_config(&kit, settings);
    hd_node_free(settings);
    if (rc != 0)
        return 1;
    if (kit_inst_create(&kit, &kit.main, err, sizeof(err)) != 0) {
        kit_report(KIT_FAIL, "create", "create() refused the settings: %s", err);
        return 1;
    }
    char viol[1000];
    if (kit_take_violations(viol, sizeof(viol)))
        kit_report(KIT_FAIL, "create", "%s", viol);
    else
        kit_report(KIT_PASS, "create", "an instance was created (%s)",
                   kit.sim_url ? kit.sim_url : "echo server");
    kit_check_render(&kit, 0);
    kit_check_ops(&kit);
    kit_check_lifecycle(&kit);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"so", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"sim", required_argument, NULL, 'm'},
        {"timeout", required_argument, NULL, 't'},
        {"dep-url", required_argument, NULL, 'd'},
        {"only", required_argument, NULL, 'o'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *so = NULL;
    int c;
    kit.timeout_ms = 2000;
    kit.dep_url = "https://www.yuexiu.gov.cn/zwgk/a/";
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            so = optarg;
            break;
        case 'c':
            kit.settings_path = optarg;
            break;
        case 'm':
            kit.sim_url = optarg;
            break;
        case 'd':
            kit.dep_url = optarg;
            break;
        case 'o':
            snprintf(only, sizeof(only), "%s", optarg);
            break;
        case 'v':
            kit.verbose++;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 't':
            if (hd_parse_duration(optarg, &kit.timeout_ms) != 0 || kit.timeout_ms < 100) {
                fprintf(stderr, "herald-conformance: --timeout %s: want e.g. 2s or 500ms\n",
                        optarg);
                return 2;
            }
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    hd_log_set_level(kit.verbose > 1 ? HD_LOG_DEBUG : kit.verbose ? HD_LOG_INFO : HD_LOG_ERROR);
    json_object_seed(0); /* jansson seeds its hashes on first use: not inside a render */
    snprintf(kit.nonce, sizeof(kit.nonce), "%lx%x", (unsigned long)hd_now_ms() & 0xffffffffUL,
             (unsigned)getpid() & 0xffff);
    printf("herald-conformance %s (adapter ABI %d): %s\n", HERALD_VERSION, HD_ABI_VERSION,
           argv[optind]);
    int rc = load_adapter(argv[optind], so);
    if (rc == 0)
        rc = run();
    if (kit.base)
        kit_run_until(kit_quiet, NULL, 5000);
    if (kit.proxy)
        kit_proxy_free(kit.proxy);
    kit_assets_free(kit.assets);
    if (kit.base)
        kit_host_free(&kit);
    hd_config_free(kit.cfg);
    free(kit.dep_instance);
    hd_registry_destroy(kit.reg);
    if (kit.tmp[0] && !getenv("HERALD_CONFORMANCE_KEEP")) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kit.tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "herald-conformance: could not remove %s\n", kit.tmp);
    }
    printf("%d checks: %d passed, %d failed, %d warnings, %d skipped\n", n_checks,
           n_checks - n_failed - n_warned - n_skipped, n_failed, n_warned, n_skipped);
    if (rc == 2)
        return 2;
    return n_failed || rc ? 1 : 0;
}
