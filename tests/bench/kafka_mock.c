/*
 * kafka_mock: librdkafka's mock cluster (a Kafka protocol broker inside
 * this process, reached over TCP like any broker) as a program, for the
 * Kafka benchmark (tests/bench/bench_kafka.sh) and the integration tests.
 *
 *   kafka_mock serve [-b BROKERS] [-p PARTITIONS] [TOPIC ...]
 *       Starts a cluster of BROKERS brokers (default 1, at most 16) on
 *       127.0.0.1, creates each TOPIC with PARTITIONS partitions (default 4,
 *       at most 1000) and a replication factor of min(BROKERS, 3), prints
 *       the bootstrap servers as one line on stdout, and runs until stdin
 *       reaches its end or SIGTERM/SIGINT. Lines read on stdin are commands,
 *       each answered with one line on stdout:
 *         count TOPIC [TOPIC ...]   messages the topics hold (as `count`
 *                                   below, through a client of this process)
 *         cpu                       this process's CPU seconds so far
 *                                   (user + system), "0.00"
 *       Anything else, and a line longer than 4095 bytes, is answered
 *       "error: ..." on stdout.
 *   kafka_mock count BOOTSTRAP TOPIC [TOPIC ...]
 *       Prints the number of messages appended to the topics: the sum of
 *       every partition's high watermark, asked of the brokers (ListOffsets).
 *   kafka_mock consume [--meta] BOOTSTRAP TOPIC [TOPIC ...]
 *       Prints the value of every message of the topics, one line each (a
 *       value is printed as it is: a newline inside it would split it),
 *       from the start of each partition up to its high watermark when the
 *       command started; then exits 0. Exits 1 when a partition no longer
 *       holds its first messages: the mock cluster keeps at most 5 MB or
 *       100,000 message sets per partition and drops the oldest. With
 *       --meta each line is TOPIC, the key in hex, the headers as
 *       NAME=VALUE-IN-HEX joined by commas, and the value, tab-separated.
 *
 * Exit status: 0, 1 on a Kafka error (one line on stderr: "kafka_mock: ..."),
 * 2 on a usage error. The mock cluster checks the sequence numbers of
 * transactional producers only: it stores a plain idempotent producer's
 * resends again, so a count above what was produced means duplicates.
 *
 * Built by tests/CMakeLists.txt (target kafka_mock, in BUILD/tests/), or
 * alone: cc -O2 -o kafka_mock tests/bench/kafka_mock.c -lrdkafka
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_BROKERS     16
#define MAX_PARTITIONS  1000
#define MAX_TOPICS      64
#define MAX_LINE        4096
#define TIMEOUT_MS      10000   /* each request to the cluster */
#define CONSUME_IDLE_MS 30000   /* consume: no message for this long is an error */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: kafka_mock serve [-b BROKERS] [-p PARTITIONS] [TOPIC ...]\n"
            "       kafka_mock count BOOTSTRAP TOPIC [TOPIC ...]\n"
            "       kafka_mock consume [--meta] BOOTSTRAP TOPIC [TOPIC ...]\n");
    return 2;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A number in [lo, hi] from s, or -1. */
static long parse_count(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    return v;
}

/* ==== a client ============================================================ */

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)fac;
    if (level <= 3)
        fprintf(stderr, "kafka_mock: librdkafka: %s\n", buf);
}

/* A consumer handle on bootstrap. Partitions are assigned by hand and no
 * offset is committed; librdkafka still wants a group.id for
 * rd_kafka_assign(). NULL with a sentence in errbuf. Caller frees with
 * rd_kafka_destroy(). */
static rd_kafka_t *client_new(const char *bootstrap, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, errbuf, errlen) ||
        rd_kafka_conf_set(c, "group.id", "kafka_mock", errbuf, errlen) ||
        rd_kafka_conf_set(c, "enable.auto.commit", "false", errbuf, errlen) ||
        rd_kafka_conf_set(c, "enable.partition.eof", "false", errbuf, errlen) ||
        rd_kafka_conf_set(c, "allow.auto.create.topics", "false", errbuf, errlen)) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(c, quiet_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errbuf, errlen);
    if (!rk)
        rd_kafka_conf_destroy(c);
    return rk;
}

/* The partition count of topic, or -1 with a sentence in errbuf. */
static int partition_count(rd_kafka_t *rk, const char *topic, char *errbuf, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, TIMEOUT_MS);
    if (e) {
        snprintf(errbuf, errlen, "metadata: %s", rd_kafka_err2str(e));
        return -1;
    }
    int n = -1;
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) != 0)
            continue;
        if (md->topics[i].err)
            snprintf(errbuf, errlen, "topic %s: %s", topic, rd_kafka_err2str(md->topics[i].err));
        else
            n = md->topics[i].partition_cnt;
        break;
    }
    if (n < 0 && !errbuf[0])
        snprintf(errbuf, errlen, "no topic %s in the cluster", topic);
    rd_kafka_metadata_destroy(md);
    return n;
}

/* The low and high watermarks of every partition of topic: *np entries in
 * *lo and *hi (caller frees both). 0, or -1 with a sentence in errbuf. */
static int watermarks(rd_kafka_t *rk, const char *topic, int *np, int64_t **lo, int64_t **hi,
                      char *errbuf, size_t errlen)
{
    errbuf[0] = '\0';
    int n = partition_count(rk, topic, errbuf, errlen);
    if (n < 0)
        return -1;
    *lo = calloc((size_t)n + 1, sizeof(int64_t));
    *hi = calloc((size_t)n + 1, sizeof(int64_t));
    if (!*lo || !*hi) {
        free(*lo);
        free(*hi);
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    for (int p = 0; p < n; p++) {
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic, p, &(*lo)[p], &(*hi)[p], TIMEOUT_MS);
        if (e) {
            snprintf(errbuf, errlen, "%s [%d]: watermarks: %s", topic, p, rd_kafka_err2str(e));
            free(*lo);
            free(*hi);
            return -1;
        }
    }
    *np = n;
    return 0;
}

/* The sum of the high watermarks of the topics, or -1 with a sentence. */
static int64_t count_messages(rd_kafka_t *rk, char **topics, int ntopics, char *errbuf,
                              size_t errlen)
{
    int64_t total = 0;
    for (int t = 0; t < ntopics; t++) {
        int n;
        int64_t *lo, *hi;
        if (watermarks(rk, topics[t], &n, &lo, &hi, errbuf, errlen))
            return -1;
        for (int p = 0; p < n; p++)
            total += hi[p];
        free(lo);
        free(hi);
    }
    return total;
}

/* ==== count, consume ====================================================== */

static int cmd_count(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    char err[512] = "";
    rd_kafka_t *rk = client_new(argv[0], err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    int64_t n = count_messages(rk, argv + 1, argc - 1, err, sizeof(err));
    rd_kafka_destroy(rk);
    if (n < 0) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    printf("%" PRId64 "\n", n);
    return 0;
}

/* Hex of n bytes to stdout. */
static void put_hex(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", ((const unsigned char *)p)[i]);
}

static int cmd_consume(int argc, char **argv)
{
    bool meta = argc > 0 && strcmp(argv[0], "--meta") == 0;
    if (meta) {
        argc--;
        argv++;
    }
    if (argc < 2)
        return usage();
    char err[512] = "";
    rd_kafka_t *rk = client_new(argv[0], err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    int rc = 1;
    int64_t want = 0;
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(16);
    for (int t = 1; t < argc; t++) {
        int n;
        int64_t *lo, *hi;
        if (watermarks(rk, argv[t], &n, &lo, &hi, err, sizeof(err))) {
            fprintf(stderr, "kafka_mock: %s\n", err);
            goto out;
        }
        for (int p = 0; p < n; p++) {
            if (lo[p] > 0) {
                fprintf(stderr, "kafka_mock: %s [%d]: messages 0 to %" PRId64 " are gone (the "
                                "mock cluster keeps 5 MB or 100000 message sets per "
                                "partition)\n", argv[t], p, lo[p] - 1);
                free(lo);
                free(hi);
                goto out;
            }
            if (hi[p] > 0) {
                rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_add(tp, argv[t], p);
                e->offset = RD_KAFKA_OFFSET_BEGINNING;
                /* the end to reach, kept in the element's opaque */
                e->opaque = (void *)(intptr_t)hi[p];
                want += hi[p];
            }
        }
        free(lo);
        free(hi);
    }
    if (want == 0) {
        rc = 0;
        goto out;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, tp);
    if (e) {
        fprintf(stderr, "kafka_mock: assign: %s\n", rd_kafka_err2str(e));
        goto out;
    }
    int64_t got = 0, last = mono_ms();
    while (got < want) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (mono_ms() - last > CONSUME_IDLE_MS) {
                fprintf(stderr, "kafka_mock: %" PRId64 " of %" PRId64 " messages after %d s "
                                "without one\n", got, want, CONSUME_IDLE_MS / 1000);
                goto out;
            }
            continue;
        }
        if (m->err) {
            fprintf(stderr, "kafka_mock: consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            goto out;
        }
        /* only offsets below the end read at the start count */
        const char *name = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *el = rd_kafka_topic_partition_list_find(tp, name,
                                                                            m->partition);
        if (el && m->offset < (int64_t)(intptr_t)el->opaque) {
            if (meta) {
                /* TOPIC \t KEY-HEX \t NAME=VALUE-HEX,... \t VALUE */
                printf("%s\t", name);
                put_hex(m->key ? m->key : "", m->key_len);
                putchar('\t');
                rd_kafka_headers_t *h = NULL;
                if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    const char *hn;
                    const void *hv;
                    size_t hs;
                    for (size_t i = 0; !rd_kafka_header_get_all(h, i, &hn, &hv, &hs); i++) {
                        printf("%s%s=", i ? "," : "", hn);
                        put_hex(hv ? hv : "", hs);
                    }
                }
                putchar('\t');
            }
            fwrite(m->payload ? m->payload : "", 1, m->len, stdout);
            putchar('\n');
            got++;
        }
        rd_kafka_message_destroy(m);
        last = mono_ms();
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "kafka_mock: stdout: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    rd_kafka_topic_partition_list_destroy(tp);
    rd_kafka_destroy(rk);
    return rc;
}

/* ==== serve =============================================================== */

/* Splits line at spaces into at most max words; returns their number. */
static int split(char *line, char **words, int max)
{
    int n = 0;
    for (char *p = strtok(line, " \t\r\n"); p && n < max; p = strtok(NULL, " \t\r\n"))
        words[n++] = p;
    return n;
}

/* Answers one command line on stdout. */
static void serve_command(char *line, const char *bootstrap, rd_kafka_t **client)
{
    char *w[MAX_TOPICS + 1];
    int n = split(line, w, MAX_TOPICS + 1);
    char err[512] = "";
    if (n == 0) {
        printf("error: an empty command (count TOPIC ..., cpu)\n");
    } else if (strcmp(w[0], "count") == 0 && n == 1) {
        printf("error: count needs at least one topic\n");
    } else if (strcmp(w[0], "count") == 0) {
        if (!*client)
            *client = client_new(bootstrap, err, sizeof(err));
        int64_t c = *client ? count_messages(*client, w + 1, n - 1, err, sizeof(err)) : -1;
        if (c < 0)
            printf("error: %s\n", err);
        else
            printf("%" PRId64 "\n", c);
    } else if (strcmp(w[0], "cpu") == 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("%.2f\n", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                             (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    } else {
        printf("error: unknown command '%s' (count TOPIC ..., cpu)\n", w[0]);
    }
    fflush(stdout);
}

static int cmd_serve(int argc, char **argv)
{
    long brokers = 1, partitions = 4;
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "-b") == 0)
            brokers = parse_count(argv[++i], 1, MAX_BROKERS);
        else if (strcmp(argv[i], "-p") == 0)
            partitions = parse_count(argv[++i], 1, MAX_PARTITIONS);
        else
            return usage();
        if (brokers < 0 || partitions < 0) {
            fprintf(stderr, "kafka_mock: -b takes 1 to %d brokers, -p 1 to %d partitions\n",
                    MAX_BROKERS, MAX_PARTITIONS);
            return 2;
        }
    }
    if (argc - i > MAX_TOPICS) {
        fprintf(stderr, "kafka_mock: at most %d topics\n", MAX_TOPICS);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* the cluster belongs to a handle of its own, which sends nothing */
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(c, quiet_log);
    rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!owner) {
        rd_kafka_conf_destroy(c);
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(owner, (int)brokers);
    if (!mc) {
        fprintf(stderr, "kafka_mock: the mock cluster could not be created\n");
        rd_kafka_destroy(owner);
        return 1;
    }
    int rf = brokers < 3 ? (int)brokers : 3;
    for (int t = i; t < argc; t++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, argv[t], (int)partitions, rf);
        if (e) {
            fprintf(stderr, "kafka_mock: topic %s: %s\n", argv[t], rd_kafka_err2str(e));
            rd_kafka_mock_cluster_destroy(mc);
            rd_kafka_destroy(owner);
            return 1;
        }
    }
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    printf("%s\n", bootstrap);
    fflush(stdout);

    /* commands until stdin ends or a signal */
    rd_kafka_t *client = NULL;
    char line[MAX_LINE];
    size_t len = 0;
    bool eof = false, skipping = false;
    while (!stop_signal && !eof) {
        struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
        int r = poll(&pfd, 1, 500);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        ssize_t got = read(STDIN_FILENO, line + len, sizeof(line) - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            eof = true;
            break;
        }
        len += (size_t)got;
        char *nl;
        while ((nl = memchr(line, '\n', len)) != NULL) {
            *nl = '\0';
            size_t used = (size_t)(nl - line) + 1;
            if (skipping)
                skipping = false;   /* the end of a line too long: answered already */
            else
                serve_command(line, bootstrap, &client);
            memmove(line, line + used, len - used);
            len -= used;
        }
        if (len == sizeof(line) - 1) {
            /* answered once; the rest of that line is dropped */
            if (!skipping) {
                printf("error: a command longer than %d bytes\n", MAX_LINE - 1);
                fflush(stdout);
            }
            skipping = true;
            len = 0;
        }
    }
    if (client)
        rd_kafka_destroy(client);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(owner);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(argv[1], "count") == 0)
        return cmd_count(argc - 2, argv + 2);
    if (strcmp(argv[1], "consume") == 0)
        return cmd_consume(argc - 2, argv + 2);
    return usage();
}
