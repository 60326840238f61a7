/*
 * Smoke test of herald-mock-broker: spawns it, checks its command protocol, produces and
 * consumes through it with librdkafka (a consumer group included), and checks that production
 * stops when broker 1 goes down and resumes when it comes back up. Every wait polls a
 * condition up to a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "common.h"

#ifndef HERALD_MOCK_BROKER
#error "HERALD_MOCK_BROKER (path of herald-mock-broker) must be defined"
#endif

#define N_FIRST  10
#define N_DURING 5

struct child {
    pid_t pid;
    int in;  /* owned: the child's stdin */
    int out; /* owned: the child's stdout */
    char buf[4096];
    size_t len;
};

/* What the clients' callbacks saw (they run inside rd_kafka_poll on this thread). */
struct seen {
    int delivered;
    int failed;
    rd_kafka_resp_err_t last_dr_err;
    int all_down;  /* error_cb saw _ALL_BROKERS_DOWN */
    int transport; /* error_cb saw _TRANSPORT */
};

/* The test links no herald code (it must not break when the core does): a local clock. */
static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void spawn(struct child *c, char *const argv[])
{
    int to_child[2], from_child[2];

    assert_int_equal(pipe2(to_child, O_CLOEXEC), 0);
    assert_int_equal(pipe2(from_child, O_CLOEXEC), 0);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        dup2(to_child[0], 0);
        dup2(from_child[1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    c->in = to_child[1];
    c->out = from_child[0];
    c->len = 0;
}

/* Read one line from the child (without '\n') into `line`, waiting up to `timeout_ms`. */
static void read_line(struct child *c, char *line, size_t size, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;

    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        struct pollfd pfd = {.fd = c->out, .events = POLLIN};
        int64_t left = deadline - mono_ms();
        ssize_t n;

        if (nl) {
            size_t l = (size_t)(nl - c->buf);

            assert_true(l < size);
            memcpy(line, c->buf, l);
            line[l] = '\0';
            memmove(c->buf, nl + 1, c->len - l - 1);
            c->len -= l + 1;
            return;
        }
        if (left <= 0)
            fail_msg("no line from herald-mock-broker within %d ms", timeout_ms);
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
            fail_msg("poll: %s", strerror(errno));
        if (!(pfd.revents & (POLLIN | POLLHUP)))
            continue;
        assert_true(c->len < sizeof(c->buf));
        n = read(c->out, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n == 0)
            fail_msg("herald-mock-broker closed its stdout");
        assert_true(n > 0);
        c->len += (size_t)n;
    }
}

/* Send a command; return its answer line in `answer`. */
static void command(struct child *c, const char *cmd, char *answer, size_t size)
{
    size_t l = strlen(cmd);

    assert_int_equal(write(c->in, cmd, l), (ssize_t)l);
    assert_int_equal(write(c->in, "\n", 1), 1);
    read_line(c, answer, size, 10000);
}

static void expect_ok(struct child *c, const char *cmd)
{
    char answer[512];

    command(c, cmd, answer, sizeof(answer));
    if (strcmp(answer, "ok") != 0)
        fail_msg("'%s' answered '%s', want 'ok'", cmd, answer);
}

static void expect_error(struct child *c, const char *cmd)
{
    char answer[512];

    command(c, cmd, answer, sizeof(answer));
    if (strncmp(answer, "error ", 6) != 0)
        fail_msg("'%s' answered '%s', want 'error <why>'", cmd, answer);
}

/* Wait for the child to exit and return its status. */
static int reap(struct child *c, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    int status;

    close(c->in);
    close(c->out);
    while (mono_ms() < deadline) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);

        assert_true(r >= 0);
        if (r == c->pid)
            return status;
        poll(NULL, 0, 20); /* poll interval of the exit check, not a settle delay */
    }
    kill(c->pid, SIGKILL);
    waitpid(c->pid, &status, 0);
    fail_msg("herald-mock-broker did not exit within %d ms", timeout_ms);
    return -1;
}

static void start_mock(struct child *c, char *brokers, char *bootstrap, size_t size)
{
    char line[512];
    char *argv[] = {HERALD_MOCK_BROKER, "--brokers", brokers, "--topic", "pre:2", NULL};

    spawn(c, argv);
    read_line(c, line, sizeof(line), 15000);
    assert_true(strncmp(line, "bootstrap=", 10) == 0);
    assert_true(strlen(line + 10) > 0 && strlen(line + 10) < size);
    memcpy(bootstrap, line + 10, strlen(line + 10) + 1);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct seen *s = opaque;

    if (msg->err) {
        s->failed++;
        s->last_dr_err = msg->err;
    } else {
        s->delivered++;
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct seen *s = opaque;

    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        s->all_down = 1;
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT)
        s->transport = 1;
}

static void set_conf(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        fail_msg("%s=%s: %s", name, value, errstr);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, struct seen *s)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;

    set_conf(conf, "bootstrap.servers", bootstrap);
    set_conf(conf, "reconnect.backoff.ms", "50");
    set_conf(conf, "reconnect.backoff.max.ms", "500");
    set_conf(conf, "log_level", "3");
    if (type == RD_KAFKA_CONSUMER) {
        set_conf(conf, "group.id", "herald-mock-smoke");
        set_conf(conf, "session.timeout.ms", "6000");
        set_conf(conf, "heartbeat.interval.ms", "1000");
        set_conf(conf, "auto.offset.reset", "earliest");
    } else {
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    }
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, s);
    rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk)
        fail_msg("rd_kafka_new: %s", errstr);
    return rk;
}

static void produce_n(rd_kafka_t *p, const char *topic, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char key[32], val[64];
        rd_kafka_resp_err_t err;

        snprintf(key, sizeof(key), "k%d", i);
        snprintf(val, sizeof(val), "message %d", i);
        err = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                                RD_KAFKA_V_VALUE(val, strlen(val)),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err)
            fail_msg("produce: %s", rd_kafka_err2str(err));
    }
}

/* Serve the producer's callbacks until `*counter` reaches `want` or the deadline passes. */
static void wait_count(rd_kafka_t *rk, const int *counter, int want, int timeout_ms,
                       const char *what)
{
    int64_t deadline = mono_ms() + timeout_ms;

    while (*counter < want && mono_ms() < deadline)
        rd_kafka_poll(rk, 100);
    if (*counter < want)
        fail_msg("timed out after %d ms waiting for %s (%d of %d)", timeout_ms, what, *counter,
                 want);
}

static void test_commands(void **state)
{
    struct child c;
    char bootstrap[256];

    start_mock(&c, "2", bootstrap, sizeof(bootstrap));
    expect_error(&c, "bogus");
    expect_error(&c, "");
    expect_error(&c, "down");
    expect_error(&c, "down 3");
    expect_error(&c, "down 0");
    expect_error(&c, "down 1 2");
    expect_error(&c, "rtt 1");
    expect_error(&c, "rtt 1 soon");
    expect_error(&c, "create t");
    expect_error(&c, "create t 0");
    expect_error(&c, "create t x");
    expect_ok(&c, "create t 3");
    expect_error(&c, "create pre 2"); /* created by --topic */
    expect_ok(&c, "rtt 2 20");
    expect_ok(&c, "rtt 2 0");
    expect_ok(&c, "down 2");
    expect_ok(&c, "up 2");
    expect_ok(&c, "quit");
    assert_int_equal(reap(&c, 10000), 0);
}

static void test_produce_consume_outage(void **state)
{
    const char *topic = "herald-mock-smoke";
    struct seen ps = {0}, cs = {0};
    struct child c;
    char bootstrap[256];
    rd_kafka_t *p, *k;
    rd_kafka_topic_partition_list_t *sub;
    int got[N_FIRST] = {0}, ngot = 0;
    int64_t deadline;

    start_mock(&c, "1", bootstrap, sizeof(bootstrap));
    expect_ok(&c, "create herald-mock-smoke 3");

    p = client(RD_KAFKA_PRODUCER, bootstrap, &ps);
    produce_n(p, topic, 0, N_FIRST);
    wait_count(p, &ps.delivered, N_FIRST, 15000, "delivery of the first messages");
    assert_int_equal(ps.failed, 0);

    /* Consume them back as a consumer group (the mock delays the join by ~3 s). */
    k = client(RD_KAFKA_CONSUMER, bootstrap, &cs);
    rd_kafka_poll_set_consumer(k);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(k, sub), 0);
    rd_kafka_topic_partition_list_destroy(sub);
    deadline = mono_ms() + 20000;
    while (ngot < N_FIRST && mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 200);
        int i;

        if (!m)
            continue;
        if (!m->err) {
            assert_int_equal(sscanf(m->payload, "message %d", &i), 1);
            assert_true(i >= 0 && i < N_FIRST);
            assert_int_equal(got[i], 0); /* no duplicates */
            got[i] = 1;
            ngot++;
        }
        rd_kafka_message_destroy(m);
    }
    if (ngot < N_FIRST)
        fail_msg("consumed %d of %d messages within 20 s", ngot, N_FIRST);
    assert_int_equal(rd_kafka_consumer_close(k), 0);
    rd_kafka_destroy(k);

    /* Broker 1 down: the producer loses it; messages produced meanwhile wait. */
    expect_ok(&c, "down 1");
    wait_count(p, &ps.all_down, 1, 15000, "the producer to see all brokers down");
    produce_n(p, topic, N_FIRST, N_DURING);
    rd_kafka_poll(p, 0);
    assert_int_equal(ps.delivered, N_FIRST);

    /* Up again: production resumes and everything produced while down is delivered. */
    expect_ok(&c, "up 1");
    wait_count(p, &ps.delivered, N_FIRST + N_DURING, 20000, "delivery after the broker came up");
    assert_int_equal(ps.failed, 0);
    rd_kafka_destroy(p);

    /* End of input stops the mock cleanly. */
    assert_int_equal(reap(&c, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_produce_consume_outage),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
