/*
 * heraldctl: the command-line client of heraldd's admin API, for the disclosure office and for
 * scripts. This file: the command table and each command's help, global options, where the
 * server and token come from (flags, then HERALD_URL / HERALD_TOKEN_FILE, then
 * ~/.config/herald/heraldctl.conf), and main(). The commands are in ctl_cmds.c and ctl_more.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ctl.h"

#define CTL_HELP_SHOWN 100

enum { OPT_URL = 1000, OPT_TOKEN_FILE, OPT_CONFIG, OPT_JSON, OPT_TIMEOUT, OPT_HELP };

static const struct option global_opts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"json", no_argument, NULL, OPT_JSON},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"help", no_argument, NULL, OPT_HELP},
};

static const char GLOBAL_HELP[] =
    "Options for every command:\n"
    "  --url URL          heraldd's admin address (default http://127.0.0.1:8470)\n"
    "  --token-file PATH  file holding your API token (never put a token on the command line)\n"
    "  --config PATH      settings file (default ~/.config/herald/heraldctl.conf)\n"
    "  --json             print the server's JSON instead of tables (for scripts)\n"
    "  --timeout SECONDS  give up on the server after this long (default 30)\n"
    "  --help             this help\n"
    "Settings come from the flags, else HERALD_URL and HERALD_TOKEN_FILE, else the settings\n"
    "file (lines 'url = ...', 'token_file = ...', 'timeout = ...').\n"
    "Exit codes: 0 done, 1 usage or settings error, 2 not found, 3 refused by the server\n"
    "(bad request or a state that does not allow it), 4 no or wrong token or role too low,\n"
    "5 server error or server not reachable.\n";

const struct ctl_cmd ctl_cmds[] = {
    {"status", "", "the daemon, its channels and alerts at a glance",
     "Shows readiness, intake counters, deliveries waiting per state, alerts (a parked channel,\n"
     "failed deliveries, rejected messages) and one line per channel: health, backlog, in\n"
     "flight, failures, breaker and the last error.\n",
     ctl_status},
    {"items",
     "[--state S] [--channel C] [--category C] [--publisher P] [--column PATH]\n"
     "         [--since DATE] [--until DATE] [--search TEXT] [--limit N] [--all]",
     "list items, newest approval first",
     "Filters: --state lists items with a delivery in that state (failed, pending, ...; a\n"
     "comma-separated list), --channel items routed to a channel instance, --publisher a unit's\n"
     "code or name, --column a portal column and everything under it, --since/--until the\n"
     "approval time (YYYY-MM-DD in the daemon's time zone, or RFC 3339), --search text in the\n"
     "title. --limit N items per page (default 50, at most 500); --cursor continues a listing;\n"
     "--all follows every page.\n",
     ctl_items},
    {"show", "ITEM_ID", "one item: versions, deliveries per channel and its timeline",
     "The timeline puts every state change, every attempt (with the platform's answer) and\n"
     "every operator action (who, what, why) in time order across channels.\n",
     ctl_show},
    {"deliveries",
     "[--state failed] [--channel C] [--item ID] [--since DATE] [--until DATE]\n"
     "         [--limit N] [--all]",
     "list deliveries, most recently changed first",
     "Each line shows why the delivery is where it is: the reason, and for failures the last\n"
     "attempt's answer (HTTP status, the platform's code and message).\n",
     ctl_deliveries},
    {"retry", "DELIVERY_ID... | --channel C --failed  [--reason TEXT]",
     "send deliveries again (failed, expired, cancelled, waiting)",
     "With ids: retry those deliveries. With --channel C --failed: every failed delivery of the\n"
     "channel (after fixing the channel). The attempt count starts again.\n",
     ctl_retry},
    {"cancel", "DELIVERY_ID --reason TEXT", "cancel a delivery that has not gone out",
     "Pending, held, waiting, parked, failed or manual-action deliveries only.\n", ctl_cancel},
    {"release", "DELIVERY_ID [--reason TEXT]", "send a held delivery now",
     "Releases an embargo or a dependency hold by hand.\n", ctl_release},
    {"resolve", "DELIVERY_ID [--reason TEXT]", "mark a manual-action delivery as handled",
     "After doing by hand what the platform could not (e.g. withdrawing a WeChat article).\n",
     ctl_resolve},
    {"retract", "ITEM_ID --reason TEXT", "withdraw an item from every channel",
     "Works like a retraction from upstream at the item's current version: what was published\n"
     "is withdrawn where the channel can, pending deliveries stop. A reason is required.\n",
     ctl_retract},
    {"pause", "CHANNEL [--reason TEXT]", "stop sending on a channel (survives restarts)",
     "Deliveries wait in their queue until resume.\n", ctl_pause},
    {"resume", "CHANNEL [--reason TEXT]", "start sending on a paused channel again", "",
     ctl_resume},
    {"unpark", "CHANNEL --reason TEXT", "let a parked channel try again without new credentials",
     "A channel parks when the platform needs a person (re-authorization, configuration). Usually\n"
     "'credentials set' is the fix; unpark when the problem was fixed elsewhere.\n",
     ctl_unpark},
    {"dlq",
     "list [--rejections|--deliveries] [--limit N] | show ID | replay ID... |\n"
     "         replay --all-rejections",
     "dead letters: rejected messages (R<n>) and failed deliveries (D<n>)",
     "list: rejected Kafka messages (why, where from, a safe preview) and failed deliveries.\n"
     "show R12: one rejected message in full. replay R12: run its bytes through intake again\n"
     "(after a configuration fix); replay D34: retry that delivery. --all-rejections replays\n"
     "every rejected message not replayed yet.\n",
     ctl_dlq},
    {"credentials", "set CHANNEL KEY --reason TEXT [--from-file PATH]",
     "replace a channel's secret (admin role); un-parks the channel",
     "The new value is read from standard input (typed without echo on a terminal) or from\n"
     "--from-file, never from the command line, which other users can see. One trailing newline\n"
     "is dropped. KEY is a secret setting of the adapter (heraldd --list-channels shows them).\n",
     ctl_credentials},
    {"report", "--year YEAR [--csv [--bom]]", "the disclosure report of a year",
     "Items actively published in the year (by approval time in the daemon's time zone) per\n"
     "month, publishing unit, portal column, category and channel, with delivery success rates.\n"
     "--csv prints CSV (UTF-8; --bom adds a byte-order mark for Excel and WPS).\n",
     ctl_report},
    {"audit", "[--item ID] [--channel C] [--who NAME] [--action A] [--limit N]",
     "the audit log: who did what, and why", "", ctl_audit},
    {NULL, NULL, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: heraldctl [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
    for (const struct ctl_cmd *k = ctl_cmds; k->name; k++)
        fprintf(f, "  %-12s %s\n", k->name, k->summary);
    fprintf(f, "\n'heraldctl COMMAND --help' describes a command.\n\n%s", GLOBAL_HELP);
}

static void cmd_help(const struct ctl_cmd *k)
{
    printf("usage: heraldctl %s %s\n\n%s.\n\n%s%s%s", k->name, k->args, k->summary, k->help,
           k->help[0] ? "\n" : "", GLOBAL_HELP);
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "heraldctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(heraldctl %s%s--help for help)\n", cmd ? cmd : "", cmd ? " " : "");
    return CTL_USAGE;
}

/* ---- settings -------------------------------------------------------------------------------- */

struct flags {
    const char *url, *token_file, *config, *timeout;
};
static struct flags fl;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* The settings file: url, token_file, timeout. A missing default file is fine. */
static int read_config(struct ctl *c, char *url, size_t ulen, char *tfile, size_t tlen,
                       char *timeout, size_t tolen)
{
    char path[1024];
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (fl.config)
        snprintf(path, sizeof(path), "%s", fl.config);
    else if (xdg && *xdg)
        snprintf(path, sizeof(path), "%s/herald/heraldctl.conf", xdg);
    else if (home && *home)
        snprintf(path, sizeof(path), "%s/.config/herald/heraldctl.conf", home);
    else
        return 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (fl.config)
            return ctl_usage_error(NULL, "cannot read %s: %s", path, strerror(errno));
        return 0;
    }
    char line[2048];
    int n = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        n++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = ctl_usage_error(NULL, "%s:%d: expected 'name = value'", path, n);
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        if (strcmp(k, "url") == 0)
            snprintf(url, ulen, "%s", v);
        else if (strcmp(k, "token_file") == 0)
            snprintf(tfile, tlen, "%s", v);
        else if (strcmp(k, "timeout") == 0)
            snprintf(timeout, tolen, "%s", v);
        else {
            rc = ctl_usage_error(NULL, "%s:%d: unknown setting '%s' (url, token_file, timeout)",
                                 path, n, k);
            break;
        }
    }
    fclose(f);
    return rc;
}

static int read_token(struct ctl *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "heraldctl: cannot read the token file %s: %s\n", path, strerror(errno));
        return CTL_AUTH;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "heraldctl: warning: %s can be read by other users (chmod 600 it)\n", path);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *t = trim(buf);
    if (!*t) {
        fprintf(stderr, "heraldctl: the token file %s is empty\n", path);
        return CTL_AUTH;
    }
    if (c->token) { /* a command that parses its options twice (retry) reads it twice */
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
    }
    c->token = strdup(t);
    explicit_bzero(buf, sizeof(buf));
    snprintf(c->token_src, sizeof(c->token_src), "%s", path);
    return c->token ? CTL_OK : CTL_SERVER;
}

/* Flags, then the environment, then the settings file. */
static int resolve(struct ctl *c)
{
    char url[1024] = "", tfile[1024] = "", timeout[64] = "";
    int rc = read_config(c, url, sizeof(url), tfile, sizeof(tfile), timeout, sizeof(timeout));
    if (rc)
        return rc;
    const char *eu = getenv("HERALD_URL"), *et = getenv("HERALD_TOKEN_FILE");
    const char *u = fl.url ? fl.url : eu && *eu ? eu : url[0] ? url : "http://127.0.0.1:8470";
    const char *t = fl.token_file ? fl.token_file : et && *et ? et : tfile[0] ? tfile : NULL;
    const char *to = fl.timeout ? fl.timeout : timeout[0] ? timeout : NULL;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        return ctl_usage_error(NULL, "the server URL must start with http:// or https://: %s", u);
    snprintf(c->url, sizeof(c->url), "%s", u);
    size_t len = strlen(c->url);
    while (len > 0 && c->url[len - 1] == '/')
        c->url[--len] = '\0';
    if (to) {
        char *end;
        long s = strtol(to, &end, 10);
        if (*end || s < 1 || s > 3600)
            return ctl_usage_error(NULL, "timeout must be 1 to 3600 seconds: %s", to);
        c->timeout_s = s;
    }
    return t ? read_token(c, t) : CTL_OK;
}

int ctl_getopt(struct ctl *c, const char *cmd, int argc, char **argv, const struct option *opts,
               int (*on)(int opt, const char *arg, void *ud), void *ud, int *first)
{
    struct option all[64];
    size_t n = 0;
    for (; opts && opts[n].name && n < 40; n++)
        all[n] = opts[n];
    for (size_t g = 0; g < sizeof(global_opts) / sizeof(global_opts[0]); g++)
        all[n++] = global_opts[g];
    memset(&all[n], 0, sizeof(all[n]));
    optind = 1;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":", all, NULL)) != -1) {
        switch (o) {
        case OPT_URL:
            fl.url = optarg;
            break;
        case OPT_TOKEN_FILE:
            fl.token_file = optarg;
            break;
        case OPT_CONFIG:
            fl.config = optarg;
            break;
        case OPT_JSON:
            c->json = 1;
            break;
        case OPT_TIMEOUT:
            fl.timeout = optarg;
            break;
        case OPT_HELP:
            for (const struct ctl_cmd *k = ctl_cmds; k->name; k++)
                if (strcmp(k->name, cmd) == 0)
                    cmd_help(k);
            return CTL_HELP_SHOWN;
        case ':':
            return ctl_usage_error(cmd, "%s needs a value", argv[optind - 1]);
        case '?':
            return ctl_usage_error(cmd, "unknown option %s", argv[optind - 1]);
        default:
            if (!on || on(o, optarg, ud) != 0)
                return CTL_USAGE;
        }
    }
    *first = optind;
    return resolve(c);
}

/* ---- main --------------------------------------------------------------------------------------
 */

static struct ctl ctl = {.timeout_s = 30};

static void wipe(void)
{
    if (ctl.token)
        explicit_bzero(ctl.token, strlen(ctl.token));
    free(ctl.token);
    ctl.token = NULL;
}

int main(int argc, char **argv)
{
    int i = 1;
    /* global options before the command */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CTL_OK;
        } else if (strcmp(a, "--version") == 0) {
            printf("heraldctl %s\n", HERALD_VERSION);
            return CTL_OK;
        } else if (strcmp(a, "--json") == 0) {
            ctl.json = 1;
        } else if (v && (strcmp(a, "--url") == 0 || strcmp(a, "--token-file") == 0 ||
                         strcmp(a, "--config") == 0 || strcmp(a, "--timeout") == 0)) {
            if (strcmp(a, "--url") == 0)
                fl.url = v;
            else if (strcmp(a, "--token-file") == 0)
                fl.token_file = v;
            else if (strcmp(a, "--config") == 0)
                fl.config = v;
            else
                fl.timeout = v;
            i++;
        } else {
            usage(stderr);
            return CTL_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CTL_USAGE;
    }
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        for (const struct ctl_cmd *k = ctl_cmds; i + 1 < argc && k->name; k++)
            if (strcmp(k->name, argv[i + 1]) == 0) {
                cmd_help(k);
                return CTL_OK;
            }
        usage(stdout);
        return CTL_OK;
    }
    const struct ctl_cmd *cmd = NULL;
    for (const struct ctl_cmd *k = ctl_cmds; k->name; k++)
        if (strcmp(k->name, name) == 0)
            cmd = k;
    if (!cmd) {
        fprintf(stderr, "heraldctl: unknown command '%s'\n\n", name);
        usage(stderr);
        return CTL_USAGE;
    }
    ctl.tty = isatty(STDOUT_FILENO);
    struct winsize ws;
    const char *cols = getenv("COLUMNS");
    if (ctl.tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        ctl.width = ws.ws_col;
    else if (ctl.tty && cols && atoi(cols) > 20)
        ctl.width = atoi(cols);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(wipe);
    int rc = cmd->run(&ctl, argc - i, argv + i);
    curl_global_cleanup();
    return rc == CTL_HELP_SHOWN ? CTL_OK : rc;
}
