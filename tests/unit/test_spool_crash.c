/*
 * Crash safety of the spool: a child process appends numbered events in
 * batches (fsync on) while a consumer thread reads and acknowledges them
 * through cursor "out"; the parent SIGKILLs it at random instants, 20
 * times, starting a new child each time. Through a pipe the child tells
 * what it is about to do and what was done:
 *
 *   'A' first last   about to append events first..last of this round
 *   'a' last         the append returned VG_OK
 *   'F' key          the first event the consumer read in this round
 *   'K' key          about to acknowledge up to key
 *   'k' key          the acknowledgement returned VG_OK
 *
 * After each kill the parent opens the spool itself and checks:
 *  - through cursor "verify" (which it alone reads, and acknowledges), the
 *    events added in the round are exactly those whose append returned
 *    VG_OK, in order, each once, plus the batch in flight at the kill
 *    either whole or not at all; nothing else;
 *  - the consumer's first event in the round follows the last
 *    acknowledgement that returned, or the one in flight at the kill:
 *    nothing acknowledged comes back, nothing unacknowledged is lost.
 * Some rounds also append garbage to the last segment (a torn write of a
 * record not yet accepted): the next open must cut it and keep the rest.
 * Finally "out" is drained and must deliver the rest of the log.
 *
 * VG_CRASH_SEED=N repeats a run; the seed is printed.
 */
#include "vgtest.h"

#include "agent/log.h"
#include "agent/timeutil.h"
#include "outputs/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 20
#define KEY(r, n) ((uint64_t)(r) << 32 | (uint32_t)(n))

struct msg {
    char type;
    uint64_t a, b;
};

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static struct vg_spool *open_dir(const char *dir, char *err, size_t errlen)
{
    struct vg_spool_opts o = { .dir = dir, .max_bytes = 64 << 20, .segment_bytes = 64 << 10,
                               .when_full = VG_SPOOL_BLOCK, .fsync = true };
    return vg_spool_open(&o, err, errlen);
}

static bool parse_event(const char *ev, uint64_t *key)
{
    int r, n;
    if (sscanf(ev, "{\"r\":%d,\"n\":%d", &r, &n) != 2)
        return false;
    *key = KEY(r, n);
    return true;
}

/* ------------------------------------------------------------------ */
/* The child                                                            */

struct child {
    struct vg_spool *s;
    int fd;
    int round;
};

static void say(int fd, char type, uint64_t a, uint64_t b)
{
    struct msg m = { type, a, b };
    if (write(fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
        _exit(3);
}

static void *consumer(void *arg)
{
    struct child *ch = arg;
    struct vg_spool_cursor *c;
    if (vg_spool_cursor(ch->s, "out", &c) != VG_OK)
        _exit(4);
    bool first = true;
    char err[256];
    for (;;) {
        struct vg_spool_batch b;
        if (vg_spool_read(c, 1 + rnd() % 300, 100, &b) != VG_OK)
            _exit(5);
        if (!b.n)
            continue;
        uint64_t k0, k1;
        if (!parse_event(b.events[0], &k0) || !parse_event(b.events[b.n - 1], &k1))
            _exit(6);
        if (first)
            say(ch->fd, 'F', k0, b.pos[0].seq << 20 | b.pos[0].idx);
        first = false;
        say(ch->fd, 'K', k1, b.pos[b.n - 1].seq << 20 | b.pos[b.n - 1].idx);
        if (vg_spool_ack(c, b.pos[b.n - 1], err, sizeof(err)) != VG_OK)
            _exit(7);
        say(ch->fd, 'k', k1, b.pos[b.n - 1].seq << 20 | b.pos[b.n - 1].idx);
    }
    return NULL;
}

static void run_child(const char *dir, int round, int fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    rng_state ^= (uint64_t)getpid() << 17;
    char err[256];
    struct child ch = { .fd = fd, .round = round };
    ch.s = open_dir(dir, err, sizeof(err));
    if (!ch.s) {
        fprintf(stderr, "child: %s\n", err);
        _exit(2);
    }
    pthread_t th;
    pthread_create(&th, NULL, consumer, &ch);
    enum { MAXB = 400 };
    static char bufs[MAXB][600];
    const char *ev[MAXB];
    size_t lens[MAXB];
    for (int n = 0;;) {
        int k = 1 + (int)(rnd() % MAXB);
        for (int i = 0; i < k; i++) {
            int len = snprintf(bufs[i], 64, "{\"r\":%d,\"n\":%d,\"pad\":\"", round, n + i);
            int pad = (int)(rnd() % 500);
            for (int j = 0; j < pad; j++)
                bufs[i][len++] = (char)('a' + rnd() % 26);
            bufs[i][len++] = '"';
            bufs[i][len++] = '}';
            bufs[i][len] = '\0';
            ev[i] = bufs[i];
            lens[i] = (size_t)len;
        }
        say(fd, 'A', (uint64_t)n, (uint64_t)(n + k - 1));
        if (vg_spool_append(ch.s, ev, lens, (size_t)k, -1, err, sizeof(err)) != VG_OK) {
            fprintf(stderr, "child: %s\n", err);
            _exit(8);
        }
        say(fd, 'a', (uint64_t)(n + k - 1), 0);
        n += k;
    }
}

/* ------------------------------------------------------------------ */
/* The parent                                                           */

/* Every event the spool has held, in order (keys). */
static uint64_t *logk;
static size_t nlog, caplog;

static void log_add(uint64_t key)
{
    if (nlog == caplog) {
        caplog = caplog ? caplog * 2 : 4096;
        logk = realloc(logk, caplog * sizeof(*logk));
    }
    logk[nlog++] = key;
}

/* The index of key in the log, or -1. Keys increase. */
static long log_find(uint64_t key)
{
    size_t lo = 0, hi = nlog;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (logk[mid] == key)
            return (long)mid;
        if (logk[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Appends garbage to the newest segment: a torn write of a record that
 * was never accepted. */
static void tear_tail(const char *dir)
{
    DIR *d = opendir(dir);
    char last[64] = "";
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, "seg-", 4) == 0 && strlen(e->d_name) < sizeof(last) &&
            strcmp(e->d_name, last) > 0)
            memcpy(last, e->d_name, strlen(e->d_name) + 1);
    if (d)
        closedir(d);
    if (!last[0])
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, last);
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0)
        return;
    unsigned char junk[300] = { 'V', 'G', 'R', 'C' };
    size_t n = 1 + rnd() % sizeof(junk);
    for (size_t i = 4; i < n; i++)
        junk[i] = (unsigned char)rnd();
    if (write(fd, junk, n) < 0)
        fprintf(stderr, "  tear: %s\n", strerror(errno));
    close(fd);
}

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/vgtest-spoolcrash-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

VG_TEST(sigkill_twenty_times)
{
    const char *seed_env = getenv("VG_CRASH_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)vg_time_now_ms();
    rng_state = seed;
    fprintf(stderr, "  VG_CRASH_SEED=%llu\n", (unsigned long long)seed);
    vg_log_set_level(VG_LOG_ERROR);   /* the cuts are expected */
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_dir(dir, err, sizeof(err));
    CHECK(s != NULL);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "verify", &c), VG_OK);
    CHECK_EQ_INT(vg_spool_cursor(s, "out", &c), VG_OK);
    vg_spool_close(s);

    long out_done = -1;        /* log index of the last ack that returned */
    long out_inflight = -1;    /* ... of an ack in flight at the last kill */
    uint64_t out_done_pos = 0, out_inflight_pos = 0;   /* seq << 20 | idx, for messages */
    uint64_t corrupt = 0, tears = 0, acks = 0, inflight_kept = 0, inflight_lost = 0;
    int failures_before = vg_test_failures;
    for (int round = 0; round < ROUNDS && vg_test_failures == failures_before; round++) {
        int p[2];
        if (pipe(p) != 0) {
            CHECK(0);
            break;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            run_child(dir, round, p[1]);
            _exit(1);
        }
        close(p[1]);
        /* collect messages until a random instant, then kill */
        struct msg *msgs = NULL;
        size_t nm = 0, cm = 0;
        int64_t kill_at = vg_time_mono_ms() + 20 + rnd() % 280;
        bool killed = false;
        for (;;) {
            int64_t left = kill_at - vg_time_mono_ms();
            if (!killed && left <= 0) {
                kill(pid, SIGKILL);
                killed = true;
            }
            struct pollfd pfd = { p[0], POLLIN, 0 };
            if (poll(&pfd, 1, killed ? -1 : (int)left) <= 0)
                continue;
            struct msg m;
            ssize_t r = read(p[0], &m, sizeof(m));
            if (r == 0)
                break;   /* the child is gone and the pipe drained */
            if (r != (ssize_t)sizeof(m))
                continue;
            if (nm == cm) {
                cm = cm ? cm * 2 : 256;
                msgs = realloc(msgs, cm * sizeof(*msgs));
            }
            msgs[nm++] = m;
        }
        close(p[0]);
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
            fprintf(stderr, "  round %d: child status %d\n", round, status);

        /* what the child says was accepted, and what was in flight */
        long accepted = -1, flight_first = -1, flight_last = -1;
        for (size_t i = 0; i < nm; i++) {
            if (msgs[i].type == 'A') {
                flight_first = (long)msgs[i].a;
                flight_last = (long)msgs[i].b;
            } else if (msgs[i].type == 'a') {
                accepted = (long)msgs[i].a;
                flight_first = flight_last = -1;
            }
        }
        bool tore = round % 3 == 2;
        if (tore) {
            tear_tail(dir);
            tears++;
        }

        /* reopen: the round's events, exactly */
        size_t before = nlog;
        s = open_dir(dir, err, sizeof(err));
        CHECK(s != NULL);
        if (!s) {
            fprintf(stderr, "  round %d: open: %s\n", round, err);
            free(msgs);
            break;
        }
        struct vg_spool_stats st;
        vg_spool_get_stats(s, &st);
        corrupt += st.corrupt_records;
        if (tore)
            CHECK(st.corrupt_records >= 1);
        CHECK_EQ_INT(vg_spool_cursor(s, "verify", &c), VG_OK);
        long next = 0;   /* the next number expected from this round */
        bool bad = false, any = false;
        struct vg_spool_pos last = { 0, 0 };
        for (;;) {
            struct vg_spool_batch b;
            if (vg_spool_read(c, 100000, 0, &b) != VG_OK) {
                bad = true;
                break;
            }
            if (!b.n)
                break;
            last = b.pos[b.n - 1];
            any = true;
            for (size_t i = 0; i < b.n && !bad; i++) {
                uint64_t key = 0;
                if (!parse_event(b.events[i], &key) || key != KEY(round, next)) {
                    fprintf(stderr, "  round %d: event %zu is %s, expected r%d n%ld\n", round,
                            nlog - before, b.events[i], round, next);
                    bad = true;
                }
                log_add(key);
                next++;
            }
        }
        if (any && vg_spool_ack(c, last, err, sizeof(err)) != VG_OK)
            bad = true;
        /* all accepted, and the batch in flight whole or not at all */
        bool whole = flight_last >= 0 && next == flight_last + 1;
        if (!bad && next != accepted + 1 && !whole) {
            fprintf(stderr,
                    "  round %d: read %ld events; accepted %ld, in flight %ld..%ld\n", round,
                    next, accepted + 1, flight_first, flight_last);
            bad = true;
        }
        if (flight_last >= 0)
            whole ? inflight_kept++ : inflight_lost++;
        CHECK(!bad);

        /* the consumer: where it started, where it got */
        for (size_t i = 0; i < nm && !bad; i++) {
            long at = msgs[i].type == 'F' || msgs[i].type == 'K' || msgs[i].type == 'k'
                          ? log_find(msgs[i].a)
                          : 0;
            if (at < 0) {
                fprintf(stderr, "  round %d: consumer saw r%u n%u, never appended\n", round,
                        (unsigned)(msgs[i].a >> 32), (unsigned)msgs[i].a);
                bad = true;
            } else if (msgs[i].type == 'F') {
                if (at != out_done + 1 && !(out_inflight >= 0 && at == out_inflight + 1)) {
                    fprintf(stderr,
                            "  round %d: consumer restarted at log %ld (pos %llu:%llu); "
                            "acknowledged through %ld (pos %llu:%llu), in flight %ld (pos "
                            "%llu:%llu)\n",
                            round, at, (unsigned long long)(msgs[i].b >> 20),
                            (unsigned long long)(msgs[i].b & 0xfffff), out_done,
                            (unsigned long long)(out_done_pos >> 20),
                            (unsigned long long)(out_done_pos & 0xfffff), out_inflight,
                            (unsigned long long)(out_inflight_pos >> 20),
                            (unsigned long long)(out_inflight_pos & 0xfffff));
                    bad = true;
                }
                /* the restart shows which ack was kept */
                out_done = at - 1;
                out_done_pos = out_done == out_inflight ? out_inflight_pos : out_done_pos;
                out_inflight = -1;
            } else if (msgs[i].type == 'K') {
                out_inflight = at;
                out_inflight_pos = msgs[i].b;
            } else if (msgs[i].type == 'k') {
                if (at < out_done)
                    bad = true;
                out_done = at;
                out_done_pos = msgs[i].b;
                out_inflight = -1;
                acks++;
            }
        }
        CHECK(!bad);
        vg_spool_close(s);
        free(msgs);
        fprintf(stderr,
                "  round %2d: %4ld events accepted%s, %zu in the spool, corrupt %llu%s\n",
                round, accepted + 1,
                flight_last < 0 ? "" : whole ? " + batch in flight" : " (batch in flight lost)",
                nlog - before, (unsigned long long)st.corrupt_records, tore ? " (torn)" : "");
    }

    /* the rest goes out through "out", once */
    s = open_dir(dir, err, sizeof(err));
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(vg_spool_cursor(s, "out", &c), VG_OK);
        long expect = out_done + 1, got = 0;
        bool bad = false, any = false;
        struct vg_spool_pos last = { 0, 0 };
        for (;;) {
            struct vg_spool_batch b;
            if (vg_spool_read(c, 100000, 0, &b) != VG_OK || !b.n)
                break;
            last = b.pos[b.n - 1];
            any = true;
            for (size_t i = 0; i < b.n && !bad; i++) {
                uint64_t key = 0;
                long at = parse_event(b.events[i], &key) ? log_find(key) : -1;
                if (got == 0 && out_inflight >= 0 && at == out_inflight + 1)
                    expect = at;   /* the ack in flight at the last kill was kept */
                if (at != expect) {
                    fprintf(stderr, "  final: event at log %ld, expected %ld\n", at, expect);
                    bad = true;
                }
                expect++;
                got++;
            }
        }
        if (any)
            CHECK_EQ_INT(vg_spool_ack(c, last, err, sizeof(err)), VG_OK);
        CHECK_EQ_INT(vg_spool_pending(c), 0);
        CHECK(!bad);
        CHECK_EQ_INT(expect, (long)nlog);
        CHECK_EQ_INT(vg_spool_cursor(s, "verify", &c), VG_OK);
        CHECK_EQ_INT(vg_spool_pending(c), 0);
        vg_spool_close(s);
        fprintf(stderr,
                "  %zu events in %d rounds; consumer acknowledged %llu times; batches in flight "
                "kept %llu, lost %llu; corrupt records cut %llu (%llu tails torn by the test)\n",
                nlog, ROUNDS, (unsigned long long)acks, (unsigned long long)inflight_kept,
                (unsigned long long)inflight_lost, (unsigned long long)corrupt,
                (unsigned long long)tears);
    }
    CHECK(nlog > 1000);
    free(logk);
    rmtree(dir);
    free(dir);
}

VG_TEST_MAIN()
