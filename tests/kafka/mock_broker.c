/*
 * herald-mock-broker: librdkafka's mock Kafka cluster in a process of its own, for fast
 * fault-injection tests. Tests start it, read the one line `bootstrap=<servers>` it prints,
 * point heraldd (or any librdkafka client) at those servers and then drive faults through
 * line commands on stdin, each answered on stdout with `ok` or `error <why>`:
 *
 *   down BROKER_ID            close the broker's connections and refuse new ones
 *   up BROKER_ID              accept connections again
 *   rtt BROKER_ID MS          delay every response of the broker by MS milliseconds
 *   create TOPIC PARTITIONS   create a topic
 *   quit                      exit (so does end of input)
 *
 * Limits of the mock cluster (librdkafka 2.0.2; DESIGN.md, "What probing..."): ~5 MiB kept per
 * partition, group joins delayed by ~3 s, consumers need session.timeout.ms of 4-6 s.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "common.h"

#define MAX_BROKERS 16
#define MAX_LINE    1024

struct mock {
    rd_kafka_t *rk;              /* owned: the handle the cluster lives in */
    rd_kafka_mock_cluster_t *mc; /* owned */
    int brokers;
};

static void usage(FILE *out)
{
    fprintf(out, "usage: herald-mock-broker [--brokers N] [--topic NAME:PARTITIONS]...\n"
                 "Prints bootstrap=<servers>, then reads commands on stdin:\n"
                 "  down ID | up ID | rtt ID MS | create TOPIC PARTITIONS | quit\n");
}

/* Parse a whole decimal int in [min, max]. */
static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v;

    if (!s || !*s)
        return HD_EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return HD_EINVAL;
    *out = (int)v;
    return 0;
}

static int replication(const struct mock *m)
{
    return HD_MIN(3, m->brokers);
}

static int mock_create(struct mock *m, int brokers)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    m->brokers = brokers;
    if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        goto fail;
    /* The producer handle only hosts the cluster; it connects to nothing. */
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!m->rk)
        goto fail;
    conf = NULL; /* owned by m->rk now */
    m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
    if (!m->mc) {
        snprintf(errstr, sizeof(errstr), "rd_kafka_mock_cluster_new failed");
        goto fail;
    }
    return 0;

fail:
    fprintf(stderr, "herald-mock-broker: %s\n", errstr);
    if (conf) /* rd_kafka_conf_destroy() does not take NULL */
        rd_kafka_conf_destroy(conf);
    return HD_EIO;
}

static void mock_destroy(struct mock *m)
{
    if (m->mc)
        rd_kafka_mock_cluster_destroy(m->mc);
    m->mc = NULL;
    if (m->rk)
        rd_kafka_destroy(m->rk);
    m->rk = NULL;
}

/* Create TOPIC with PARTITIONS; on error write why into `why`. */
static int create_topic(struct mock *m, const char *topic, const char *parts, char *why,
                        size_t whylen)
{
    rd_kafka_resp_err_t err;
    int n;

    if (!topic || !*topic || strlen(topic) > 249) {
        snprintf(why, whylen, "bad topic name");
        return HD_EINVAL;
    }
    if (parse_int(parts, 1, 10000, &n) < 0) {
        snprintf(why, whylen, "bad partition count '%s'", parts ? parts : "");
        return HD_EINVAL;
    }
    err = rd_kafka_mock_topic_create(m->mc, topic, n, replication(m));
    if (err) {
        snprintf(why, whylen, "create %s: %s", topic, rd_kafka_err2str(err));
        return HD_EIO;
    }
    return 0;
}

/* Run one command line; 1 when it asked to quit, 0 when done, <0 with `why` on error. */
static int run_command(struct mock *m, char *line, char *why, size_t whylen)
{
    char *save = NULL;
    char *verb = strtok_r(line, " \t\r\n", &save);
    char *a1 = verb ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    char *a2 = a1 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    char *extra = a2 ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    rd_kafka_resp_err_t err;
    int id, ms;

    if (!verb) {
        snprintf(why, whylen, "empty command");
        return HD_EINVAL;
    }
    if (extra) {
        snprintf(why, whylen, "too many arguments");
        return HD_EINVAL;
    }
    if (!strcmp(verb, "quit") && !a1)
        return 1;
    if (!strcmp(verb, "create") && a2)
        return create_topic(m, a1, a2, why, whylen);
    if (!strcmp(verb, "down") || !strcmp(verb, "up") || !strcmp(verb, "rtt")) {
        int want_ms = !strcmp(verb, "rtt");

        if (!a1 || (want_ms ? !a2 : a2 != NULL)) {
            snprintf(why, whylen, "usage: %s", want_ms ? "rtt ID MS" : "down|up ID");
            return HD_EINVAL;
        }
        if (parse_int(a1, 1, m->brokers, &id) < 0) {
            snprintf(why, whylen, "no broker '%s' (ids are 1..%d)", a1, m->brokers);
            return HD_EINVAL;
        }
        if (want_ms) {
            if (parse_int(a2, 0, 600000, &ms) < 0) {
                snprintf(why, whylen, "bad milliseconds '%s'", a2);
                return HD_EINVAL;
            }
            err = rd_kafka_mock_broker_set_rtt(m->mc, id, ms);
        } else if (!strcmp(verb, "down")) {
            err = rd_kafka_mock_broker_set_down(m->mc, id);
        } else {
            err = rd_kafka_mock_broker_set_up(m->mc, id);
        }
        if (err) {
            snprintf(why, whylen, "%s %d: %s", verb, id, rd_kafka_err2str(err));
            return HD_EIO;
        }
        return 0;
    }
    snprintf(why, whylen, "unknown command '%s' (down, up, rtt, create, quit)", verb);
    return HD_EINVAL;
}

/* Answer commands until quit or end of input; HD_EIO when stdout is gone. */
static int serve(struct mock *m)
{
    char line[MAX_LINE], why[512];
    int rc;

    while (fgets(line, sizeof(line), stdin)) {
        if (!strchr(line, '\n') && !feof(stdin)) {
            int c;

            while ((c = getchar()) != EOF && c != '\n')
                ;
            rc = HD_EINVAL;
            snprintf(why, sizeof(why), "line too long");
        } else {
            rc = run_command(m, line, why, sizeof(why));
        }
        if (rc < 0)
            printf("error %s\n", why);
        else
            printf("ok\n");
        if (fflush(stdout) != 0)
            return HD_EIO;
        if (rc == 1)
            break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mock m = {0};
    const char *topics[64];
    size_t ntopics = 0;
    char why[512];
    int brokers = 1, c, rc;

    signal(SIGPIPE, SIG_IGN);
    while ((c = getopt_long(argc, argv, "b:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (parse_int(optarg, 1, MAX_BROKERS, &brokers) < 0) {
                fprintf(stderr, "herald-mock-broker: --brokers takes 1..%d\n", MAX_BROKERS);
                return 2;
            }
            break;
        case 't':
            if (ntopics == HD_ARRAY_LEN(topics) || !strchr(optarg, ':')) {
                fprintf(stderr, "herald-mock-broker: --topic NAME:PARTITIONS (at most %zu)\n",
                        HD_ARRAY_LEN(topics));
                return 2;
            }
            topics[ntopics++] = optarg;
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

    if (mock_create(&m, brokers) < 0) {
        mock_destroy(&m);
        return 1;
    }
    for (size_t i = 0; i < ntopics; i++) {
        char *colon = strrchr(topics[i], ':');

        *colon = '\0';
        if (create_topic(&m, topics[i], colon + 1, why, sizeof(why)) < 0) {
            fprintf(stderr, "herald-mock-broker: --topic: %s\n", why);
            mock_destroy(&m);
            return 1;
        }
    }
    printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(m.mc));
    fflush(stdout);
    fprintf(stderr, "herald-mock-broker: %d broker(s) at %s\n", brokers,
            rd_kafka_mock_cluster_bootstraps(m.mc));

    rc = serve(&m);
    mock_destroy(&m);
    return rc < 0 ? 1 : 0;
}
