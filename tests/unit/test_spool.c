/* The spool: CRC32C, round trips, cursors, bounds, recovery from torn and
 * corrupt records, fault injection, the memory mode, and a throughput
 * measurement (printed, not asserted). */
#include "vgtest.h"

#include "agent/log.h"
#include "agent/timeutil.h"
#include "outputs/crc32c.h"
#include "outputs/spool.h"
#include "outputs/spool_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

static char logbuf[1 << 16];
static size_t loglen;

static void log_sink(enum vg_log_level level, const char *area, const char *line, void *opaque)
{
    (void)opaque;
    int n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s [%s] %s\n",
                     vg_log_level_name(level), area, line);
    if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
        loglen += (size_t)n;
}

static void log_capture(void)
{
    loglen = 0;
    logbuf[0] = '\0';
    vg_log_set_sink(log_sink, NULL);
}

static void log_release(void)
{
    vg_log_set_sink(NULL, NULL);
}

static char *tmpdir(void)
{
    char tmpl[] = "/tmp/vgtest-spool-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* The segment files of dir, sorted; returns how many (names into out). */
static int list_segments(const char *dir, char out[][64], int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "seg-", 4) == 0 && strlen(e->d_name) < 64 && n < max)
            memcpy(out[n++], e->d_name, strlen(e->d_name) + 1);
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
            char t[64];
            memcpy(t, out[j], 64);
            memcpy(out[j], out[j - 1], 64);
            memcpy(out[j - 1], t, 64);
        }
    return n;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static unsigned char *read_whole(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
    *len = p ? fread(p, 1, (size_t)n, f) : 0;
    fclose(f);
    return p;
}

static void write_whole(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(p, 1, len, f);
    fclose(f);
}

static struct vg_spool *open_spool(const char *dir, uint64_t max_bytes, uint64_t seg_bytes,
                                   enum vg_spool_full wf, bool fsync_on)
{
    struct vg_spool_opts o = { .dir = dir, .max_bytes = max_bytes, .segment_bytes = seg_bytes,
                               .when_full = wf, .fsync = fsync_on };
    char err[256] = "";
    struct vg_spool *s = vg_spool_open(&o, err, sizeof(err));
    if (!s)
        fprintf(stderr, "  vg_spool_open: %s\n", err);
    return s;
}

/* Appends events numbered first .. first+n-1, each padded to pad bytes. */
static enum vg_err append_range(struct vg_spool *s, int first, int n, int pad, int timeout_ms,
                                char *err, size_t errlen)
{
    char **ev = calloc((size_t)n, sizeof(*ev));
    size_t *lens = calloc((size_t)n, sizeof(*lens));
    for (int i = 0; i < n; i++) {
        ev[i] = malloc((size_t)pad + 64);
        int k = snprintf(ev[i], 64, "{\"n\":%d,\"pad\":\"", first + i);
        /* pseudo-random letters: zstd gains little on them */
        unsigned x = (unsigned)(first + i) * 2654435761u + 1;
        for (int j = 0; j < pad; j++) {
            x = x * 1103515245u + 12345u;
            ev[i][k++] = (char)('a' + (x >> 16) % 26);
        }
        ev[i][k++] = '"';
        ev[i][k++] = '}';
        ev[i][k] = '\0';
        lens[i] = (size_t)k;
    }
    char eb[256];
    enum vg_err e = vg_spool_append(s, (const char *const *)ev, lens, (size_t)n, timeout_ms,
                                    err ? err : eb, err ? errlen : sizeof(eb));
    for (int i = 0; i < n; i++)
        free(ev[i]);
    free(ev);
    free(lens);
    return e;
}

static int event_number(const char *ev, size_t len)
{
    int n = -1;
    if (len < 6 || sscanf(ev, "{\"n\":%d", &n) != 1)
        return -1;
    return n;
}

/* Reads everything the cursor has now (no waiting), acknowledging as it
 * goes when ack is set. Event numbers go to out (up to max); returns how
 * many were read, -1 on a malformed event. */
static int drain(struct vg_spool_cursor *c, int *out, int max, bool ack)
{
    int n = 0;
    for (;;) {
        struct vg_spool_batch b;
        enum vg_err e = vg_spool_read(c, 1000, 0, &b);
        if (e != VG_OK) {
            fprintf(stderr, "  read: %s\n", vg_strerror(e));
            return -1;
        }
        if (b.n == 0)
            break;
        for (size_t i = 0; i < b.n; i++) {
            int v = event_number(b.events[i], b.lens[i]);
            if (v < 0 || b.events[i][b.lens[i]] != '\0')
                return -1;
            if (n < max)
                out[n] = v;
            n++;
        }
        if (ack) {
            char err[256];
            if (vg_spool_ack(c, b.pos[b.n - 1], err, sizeof(err)) != VG_OK) {
                fprintf(stderr, "  ack: %s\n", err);
                return -1;
            }
        }
        vg_spool_batch_release(&b);
    }
    return n;
}

/* True when got[0..n) is first, first+1, ... */
static bool is_run(const int *got, int n, int first)
{
    for (int i = 0; i < n; i++)
        if (got[i] != first + i) {
            fprintf(stderr, "  event %d is %d, expected %d\n", i, got[i], first + i);
            return false;
        }
    return true;
}

/* ------------------------------------------------------------------ */
/* CRC32C                                                               */

VG_TEST(crc32c_vectors)
{
    unsigned char b[32];
    memset(b, 0, 32);
    CHECK_EQ_INT(vg_crc32c(0, b, 32), 0x8A9136AA);
    CHECK_EQ_INT(vg_crc32c_sw(0, b, 32), 0x8A9136AA);
    memset(b, 0xff, 32);
    CHECK_EQ_INT(vg_crc32c(0, b, 32), 0x62A8AB43);
    CHECK_EQ_INT(vg_crc32c_sw(0, b, 32), 0x62A8AB43);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    CHECK_EQ_INT(vg_crc32c(0, b, 32), 0x46DD794E);
    CHECK_EQ_INT(vg_crc32c_sw(0, b, 32), 0x46DD794E);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)(31 - i);
    CHECK_EQ_INT(vg_crc32c(0, b, 32), 0x113FDB5C);
    CHECK_EQ_INT(vg_crc32c(0, "123456789", 9), 0xE3069283);
    CHECK_EQ_INT(vg_crc32c_sw(0, "123456789", 9), 0xE3069283);
    CHECK_EQ_INT(vg_crc32c(0, "", 0), 0);
    fprintf(stderr, "  crc32c: %s\n", vg_crc32c_hw() ? "sse4.2" : "table");
}

VG_TEST(crc32c_paths_agree)
{
    /* every length and alignment up to 80 bytes, and chaining */
    unsigned char buf[200];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    int bad = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len <= 80; len++) {
            uint32_t a = vg_crc32c(0, buf + off, len), b = vg_crc32c_sw(0, buf + off, len);
            for (size_t cut = 0; cut <= len; cut += 7) {
                uint32_t c = vg_crc32c(vg_crc32c(0, buf + off, cut), buf + off + cut, len - cut);
                uint32_t d =
                    vg_crc32c_sw(vg_crc32c(0, buf + off, cut), buf + off + cut, len - cut);
                bad += c != a || d != a;
            }
            bad += a != b;
        }
    CHECK_EQ_INT(bad, 0);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                          */

static void roundtrip(const char *dir)
{
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, true);
    CHECK(s != NULL);
    if (!s)
        return;
    char err[256];
    CHECK_EQ_INT(append_range(s, 0, 10, 20, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(append_range(s, 10, 1, 0, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(append_range(s, 11, 5, 1000, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_append(s, NULL, NULL, 0, 0, err, sizeof(err)), VG_OK);

    struct vg_spool_cursor *c = NULL;
    CHECK_EQ_INT(vg_spool_cursor(s, "es", &c), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 16);
    struct vg_spool_batch b;
    CHECK_EQ_INT(vg_spool_read(c, 100, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 10);   /* one appended batch at a time */
    if (b.n == 10) {
        CHECK_EQ_INT(event_number(b.events[0], b.lens[0]), 0);
        CHECK_EQ_INT(event_number(b.events[9], b.lens[9]), 9);
        CHECK_EQ_INT(b.lens[0], strlen(b.events[0]));
        CHECK_EQ_INT(b.pos[0].seq, 1);
        CHECK_EQ_INT(b.pos[9].idx, 9);
        CHECK(b.events[3][b.lens[3] - 1] == '}');
    }
    CHECK_EQ_INT(vg_spool_read(c, 100, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 1);
    CHECK_EQ_INT(b.pos[0].seq, 2);
    CHECK_EQ_INT(vg_spool_read(c, 2, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 2);
    CHECK_EQ_INT(event_number(b.events[1], b.lens[1]), 12);
    CHECK_EQ_INT(vg_spool_read(c, 100, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 3);
    CHECK_EQ_INT(event_number(b.events[2], b.lens[2]), 15);
    CHECK_EQ_INT(b.lens[2], strlen(b.events[2]));
    CHECK_EQ_INT(vg_spool_ack(c, b.pos[2], err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 0);
    CHECK_EQ_INT(vg_spool_read(c, 100, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 0);
    /* a wait that times out */
    int64_t t0 = vg_time_mono_ms();
    CHECK_EQ_INT(vg_spool_read(c, 100, 50, &b), VG_OK);
    CHECK_EQ_INT(b.n, 0);
    CHECK(vg_time_mono_ms() - t0 >= 40);
    struct vg_spool_stats st;
    vg_spool_get_stats(s, &st);
    CHECK_EQ_INT(st.events_appended, 16);
    CHECK_EQ_INT(st.corrupt_records, 0);
    vg_spool_close(s);
}

VG_TEST(roundtrip_disk)
{
    char *dir = tmpdir();
    roundtrip(dir);
    char segs[8][64];
    CHECK_EQ_INT(list_segments(dir, segs, 8), 1);
    CHECK_EQ_STR(segs[0], "seg-0000000000000001.vgs");
    CHECK(file_exists(dir, "cursor-es"));
    CHECK(file_exists(dir, "lock"));
    rmtree(dir);
    free(dir);
}

VG_TEST(roundtrip_memory)
{
    roundtrip(NULL);
}

/* Routed records: each event's route comes back beside it, after a
 * reopen too; an empty route stays empty; an unrouted record beside them
 * has no routes; a read that starts mid-record gets the routes of its own
 * events. */
static void routed(const char *dir)
{
    struct vg_spool *s = open_spool(dir, 64u << 20, 4u << 20, VG_SPOOL_BLOCK, false);
    CHECK(s != NULL);
    if (!s)
        return;
    const char *ev[3] = { "{\"n\":0}", "{\"n\":1}", "{\"n\":2}" };
    size_t lens[3] = { 7, 7, 7 };
    /* routes hold NULs between their fields */
    const char r0[] = "id-0\0vigil.findings", r2[] = "id-2\0x\0y";
    const char *rt[3] = { r0, "", r2 };
    size_t rlens[3] = { sizeof(r0) - 1, 0, sizeof(r2) - 1 };
    char err[256];
    CHECK_EQ_INT(vg_spool_append_routed(s, ev, lens, rt, rlens, 3, -1, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_append(s, ev, lens, 2, -1, err, sizeof(err)), VG_OK);
    for (int pass = 0; pass < 2; pass++) {
        struct vg_spool_cursor *c = NULL;
        CHECK_EQ_INT(vg_spool_cursor(s, "r", &c), VG_OK);
        struct vg_spool_batch b;
        /* two events, then the third alone: its route is still its own */
        CHECK_EQ_INT(vg_spool_read(c, 2, 0, &b), VG_OK);
        CHECK_EQ_INT(b.n, 2);
        CHECK(b.routes != NULL);
        if (b.n == 2 && b.routes) {
            CHECK_EQ_INT(b.rlens[0], sizeof(r0) - 1);
            CHECK(memcmp(b.routes[0], r0, sizeof(r0)) == 0);   /* its NUL too */
            CHECK_EQ_INT(b.rlens[1], 0);
            CHECK(memcmp(b.events[1], ev[1], 8) == 0);
        }
        vg_spool_batch_release(&b);
        CHECK_EQ_INT(vg_spool_read(c, 5, 0, &b), VG_OK);
        CHECK_EQ_INT(b.n, 1);
        CHECK(b.routes != NULL);
        if (b.n == 1 && b.routes) {
            CHECK_EQ_INT(b.rlens[0], sizeof(r2) - 1);
            CHECK(memcmp(b.routes[0], r2, sizeof(r2)) == 0);
            CHECK(memcmp(b.events[0], ev[2], 8) == 0);
        }
        vg_spool_batch_release(&b);
        CHECK_EQ_INT(vg_spool_read(c, 5, 0, &b), VG_OK);
        CHECK_EQ_INT(b.n, 2);
        CHECK(b.routes == NULL);
        CHECK(b.rlens == NULL);
        vg_spool_batch_release(&b);
        if (!dir)
            break;   /* memory: nothing to reopen */
        vg_spool_close(s);
        s = open_spool(dir, 64u << 20, 4u << 20, VG_SPOOL_BLOCK, false);
        CHECK(s != NULL);
        if (!s)
            return;
    }
    vg_spool_close(s);
}

VG_TEST(routed_records_disk)
{
    char *dir = tmpdir();
    routed(dir);
    rmtree(dir);
    free(dir);
}

VG_TEST(routed_records_memory)
{
    routed(NULL);
}

/* The encoder's image of a routed record decodes as one (the recovery
 * scan counts its events), and a routed record whose table does not hold
 * two entries per event is corrupt. */
VG_TEST(routed_record_image)
{
    const char *ev[2] = { "{}", "{\"a\":1}" };
    size_t lens[2] = { 2, 7 };
    const char *rt[2] = { "r0", "" };
    size_t rlens[2] = { 2, 0 };
    unsigned char *rec = NULL;
    size_t rlen = 0;
    CHECK_EQ_INT(vg_spool_encode_record(ev, lens, rt, rlens, 2, 1, &rec, &rlen), VG_OK);
    unsigned char seg[4096];
    vg_spool_segment_header(1, seg);
    CHECK(rlen + VG_SPOOL_SEG_HDR < sizeof(seg));
    if (!rec || rlen + VG_SPOOL_SEG_HDR >= sizeof(seg)) {
        free(rec);
        return;
    }
    memcpy(seg + VG_SPOOL_SEG_HDR, rec, rlen);
    struct vg_spool_scan sc;
    vg_spool_scan_image(seg, VG_SPOOL_SEG_HDR + rlen, true, &sc);
    CHECK_EQ_INT(sc.damage, VG_SPOOL_INTACT);
    CHECK_EQ_INT(sc.events, 2);
    /* the same bytes without the routed flag: 4 entries read as 2 events
     * leave bytes over, and the CRC no longer matches either */
    seg[VG_SPOOL_SEG_HDR + 8] = VG_SPOOL_FLAG_ZSTD;
    vg_spool_scan_image(seg, VG_SPOOL_SEG_HDR + rlen, false, &sc);
    CHECK_EQ_INT(sc.damage, VG_SPOOL_CUT);
    CHECK_EQ_INT(sc.events, 0);
    free(rec);
}

VG_TEST(open_errors)
{
    char err[256] = "";
    struct vg_spool_opts o = { .dir = "/proc/no/such/dir", .max_bytes = 1 << 20 };
    CHECK(vg_spool_open(&o, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "/proc/no/such/dir");
    o.dir = "/tmp";
    o.max_bytes = 100;
    CHECK(vg_spool_open(&o, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "max_bytes");
    CHECK(vg_spool_open(NULL, err, sizeof(err)) == NULL);

    /* one process at a time */
    char *dir = tmpdir();
    struct vg_spool *a = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, false);
    CHECK(a != NULL);
    o = (struct vg_spool_opts){ .dir = dir, .max_bytes = 1 << 20 };
    CHECK(vg_spool_open(&o, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "in use");
    vg_spool_close(a);
    a = vg_spool_open(&o, err, sizeof(err));
    CHECK(a != NULL);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(a, "Bad.Name", &c), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_spool_cursor(a, "", &c), VG_ERR_INVALID);
    CHECK_EQ_INT(vg_spool_cursor(a, "ok_name-1", &c), VG_OK);
    vg_spool_close(a);
    vg_spool_close(NULL);
    rmtree(dir);
    free(dir);
}

VG_TEST(partial_ack_reopen)
{
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, true);
    CHECK_EQ_INT(append_range(s, 0, 10, 10, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(append_range(s, 10, 10, 10, 0, err, sizeof(err)), VG_OK);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "out", &c), VG_OK);
    struct vg_spool_batch b;
    CHECK_EQ_INT(vg_spool_read(c, 100, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 10);
    /* acknowledging what was not read is refused */
    CHECK_EQ_INT(vg_spool_ack(c, (struct vg_spool_pos){ 2, 0 }, err, sizeof(err)),
                 VG_ERR_INVALID);
    CHECK_CONTAINS(err, "not been read");
    CHECK_EQ_INT(vg_spool_ack(c, b.pos[4], err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 15);
    /* backwards: a no-op */
    CHECK_EQ_INT(vg_spool_ack(c, b.pos[2], err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 15);
    vg_spool_close(s);

    s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, true);
    CHECK_EQ_INT(vg_spool_cursor(s, "out", &c), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 15);
    int got[64];
    int n = drain(c, got, 64, false);
    CHECK_EQ_INT(n, 15);
    CHECK(is_run(got, n, 5));
    /* a new cursor starts at the oldest record */
    struct vg_spool_cursor *c2;
    CHECK_EQ_INT(vg_spool_cursor(s, "other", &c2), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c2), 20);
    n = drain(c2, got, 64, true);
    CHECK_EQ_INT(n, 20);
    CHECK(is_run(got, n, 0));
    /* numbering goes on after a reopen */
    CHECK_EQ_INT(append_range(s, 20, 3, 10, 0, err, sizeof(err)), VG_OK);
    n = drain(c2, got, 64, true);
    CHECK_EQ_INT(n, 3);
    CHECK(is_run(got, n, 20));
    vg_spool_close(s);
    rmtree(dir);
    free(dir);
}

VG_TEST(ack_mid_record_then_rewind)
{
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, false);
    CHECK_EQ_INT(append_range(s, 0, 10, 10, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(append_range(s, 10, 10, 10, 0, err, sizeof(err)), VG_OK);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "k", &c), VG_OK);
    struct vg_spool_batch b;
    CHECK_EQ_INT(vg_spool_read(c, 4, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 4);
    struct vg_spool_pos p2 = b.pos[2];
    CHECK_EQ_INT(vg_spool_read(c, 100, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 6);
    CHECK_EQ_INT(event_number(b.events[0], b.lens[0]), 4);
    CHECK_EQ_INT(vg_spool_read(c, 3, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 3);
    CHECK_EQ_INT(event_number(b.events[0], b.lens[0]), 10);
    CHECK_EQ_INT(vg_spool_ack(c, p2, err, sizeof(err)), VG_OK);
    vg_spool_rewind(c);
    int got[64];
    int n = drain(c, got, 64, false);
    CHECK_EQ_INT(n, 17);
    CHECK(is_run(got, n, 3));
    /* acks of positions read before the rewind still count */
    vg_spool_rewind(c);
    CHECK_EQ_INT(vg_spool_read(c, 2, 0, &b), VG_OK);
    CHECK_EQ_INT(vg_spool_ack(c, (struct vg_spool_pos){ 2, 5 }, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 4);
    vg_spool_rewind(c);
    n = drain(c, got, 64, false);
    CHECK_EQ_INT(n, 4);
    CHECK(is_run(got, n, 16));
    vg_spool_close(s);
    rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Cursors and segment deletion                                         */

VG_TEST(segments_deleted_when_all_cursors_past)
{
    char *dir = tmpdir();
    char err[256];
    /* segments of 16 KiB; events of ~1 KiB of incompressible-ish text */
    struct vg_spool *s = open_spool(dir, 1 << 20, 16 << 10, VG_SPOOL_BLOCK, false);
    struct vg_spool_cursor *a, *b;
    CHECK_EQ_INT(vg_spool_cursor(s, "a", &a), VG_OK);
    CHECK_EQ_INT(vg_spool_cursor(s, "b", &b), VG_OK);
    for (int i = 0; i < 40; i++)
        CHECK_EQ_INT(append_range(s, i * 20, 20, 1000, 0, err, sizeof(err)), VG_OK);
    char segs[64][64];
    int nseg = list_segments(dir, segs, 64);
    CHECK(nseg >= 2);
    static int got[2000];
    CHECK_EQ_INT(drain(a, got, 2000, true), 800);
    CHECK_EQ_INT(list_segments(dir, segs, 64), nseg);   /* b still needs them */
    CHECK_EQ_INT(vg_spool_pending(a), 0);
    CHECK_EQ_INT(vg_spool_pending(b), 800);
    /* b acknowledges half: the segments before that go */
    struct vg_spool_batch bt;
    int seen = 0;
    while (seen < 400) {
        CHECK_EQ_INT(vg_spool_read(b, 1000, 0, &bt), VG_OK);
        if (!bt.n)
            break;
        seen += (int)bt.n;
        CHECK_EQ_INT(vg_spool_ack(b, bt.pos[bt.n - 1], err, sizeof(err)), VG_OK);
    }
    int mid = list_segments(dir, segs, 64);
    CHECK(mid < nseg);
    CHECK(mid > 1);
    CHECK_EQ_INT(drain(b, got, 2000, true), 800 - seen);
    /* all delivered: only the active segment is left */
    CHECK_EQ_INT(list_segments(dir, segs, 64), 1);
    struct vg_spool_stats st;
    vg_spool_get_stats(s, &st);
    CHECK(st.records < 40 / (uint64_t)nseg + 2);
    CHECK(st.bytes < (24u << 10));
    vg_spool_close(s);
    /* and after a reopen everything is still delivered */
    s = open_spool(dir, 1 << 20, 16 << 10, VG_SPOOL_BLOCK, false);
    CHECK_EQ_INT(vg_spool_cursor(s, "a", &a), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(a), 0);
    CHECK_EQ_INT(drain(a, got, 2000, true), 0);
    vg_spool_close(s);
    rmtree(dir);
    free(dir);
}

VG_TEST(no_cursor_keeps_data)
{
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_spool(dir, 1 << 20, 16 << 10, VG_SPOOL_BLOCK, false);
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(append_range(s, i * 10, 10, 1000, 0, err, sizeof(err)), VG_OK);
    vg_spool_close(s);
    s = open_spool(dir, 1 << 20, 16 << 10, VG_SPOOL_BLOCK, false);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "late", &c), VG_OK);
    static int got[400];
    int n = drain(c, got, 400, true);
    CHECK_EQ_INT(n, 200);
    CHECK(is_run(got, n, 0));
    vg_spool_close(s);
    rmtree(dir);
    free(dir);
}

VG_TEST(prune_forgets_unused_cursors)
{
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_spool(dir, 1 << 20, 16 << 10, VG_SPOOL_BLOCK, false);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "gone", &c), VG_OK);
    CHECK_EQ_INT(vg_spool_cursor(s, "kept", &c), VG_OK);
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(append_range(s, i * 10, 10, 1000, 0, err, sizeof(err)), VG_OK);
    vg_spool_close(s);
    s = open_spool(dir, 1 << 20, 16 << 10, VG_SPOOL_BLOCK, false);
    CHECK_EQ_INT(vg_spool_cursor(s, "kept", &c), VG_OK);
    static int got[400];
    CHECK_EQ_INT(drain(c, got, 400, true), 200);
    char segs[64][64];
    CHECK(list_segments(dir, segs, 64) > 1);   /* "gone" holds them */
    log_capture();
    CHECK_EQ_INT(vg_spool_prune(s), 1);
    log_release();
    CHECK_CONTAINS(logbuf, "removed cursor gone");
    CHECK(!file_exists(dir, "cursor-gone"));
    CHECK(file_exists(dir, "cursor-kept"));
    CHECK_EQ_INT(list_segments(dir, segs, 64), 1);
    CHECK_EQ_INT(vg_spool_prune(s), 0);
    vg_spool_close(s);
    rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Bounds                                                               */

struct producer {
    struct vg_spool *s;
    int first, n, timeout;
    atomic_int done;
    enum vg_err err;
    char errbuf[256];
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    p->err = append_range(p->s, p->first, p->n, 1000, p->timeout, p->errbuf, sizeof(p->errbuf));
    atomic_store(&p->done, 1);
    return NULL;
}

static void *big_producer_main(void *arg)
{
    struct producer *p = arg;
    p->err = append_range(p->s, p->first, p->n, 60 << 10, p->timeout, p->errbuf,
                          sizeof(p->errbuf));
    atomic_store(&p->done, 1);
    return NULL;
}

/* Polls flag for up to ms; returns its last value. */
static int poll_flag(atomic_int *flag, int ms)
{
    int64_t end = vg_time_mono_ms() + ms;
    while (!atomic_load(flag) && vg_time_mono_ms() < end) {
        struct timespec ts = { 0, 2 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return atomic_load(flag);
}

static void block_when_full(const char *dir)
{
    char err[256];
    /* 64 KiB spool, 16 KiB segments, ~5 KiB records of poorly compressible text */
    struct vg_spool *s = open_spool(dir, 64 << 10, 16 << 10, VG_SPOOL_BLOCK, false);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "slow", &c), VG_OK);
    int batches = 0;
    enum vg_err e;
    log_capture();
    while ((e = append_range(s, batches * 8, 8, 1000, 0, err, sizeof(err))) == VG_OK)
        batches++;
    CHECK_EQ_INT(e, VG_ERR_LIMIT);
    CHECK_CONTAINS(err, "spool full");
    CHECK(batches >= 5);
    /* a timeout */
    int64_t t0 = vg_time_mono_ms();
    CHECK_EQ_INT(append_range(s, batches * 8, 8, 1000, 60, err, sizeof(err)), VG_ERR_LIMIT);
    CHECK(vg_time_mono_ms() - t0 >= 50);
    struct vg_spool_stats st;
    vg_spool_get_stats(s, &st);
    CHECK(st.blocked_ms >= 50);
    CHECK(st.bytes <= 64 << 10);
    log_release();
    CHECK_CONTAINS(logbuf, "spool full");

    /* a producer blocks until the consumer acknowledges */
    struct producer p = { .s = s, .first = batches * 8, .n = 8, .timeout = -1 };
    pthread_t th;
    pthread_create(&th, NULL, producer_main, &p);
    CHECK_EQ_INT(poll_flag(&p.done, 150), 0);   /* still blocked */
    static int got[4096];
    int n = drain(c, got, 4096, true);   /* the producer may get in meanwhile */
    CHECK(n == batches * 8 || n == batches * 8 + 8);
    CHECK_EQ_INT(poll_flag(&p.done, 10000), 1);
    pthread_join(th, NULL);
    CHECK_EQ_INT(p.err, VG_OK);
    if (n >= 0 && n < 4096)
        n += drain(c, got + n, 4096 - n, true);
    CHECK_EQ_INT(n, batches * 8 + 8);
    CHECK(is_run(got, n, 0));
    vg_spool_get_stats(s, &st);
    CHECK_EQ_INT(st.events_dropped, 0);

    /* interrupted while blocked */
    while (append_range(s, 0, 8, 1000, 0, err, sizeof(err)) == VG_OK)
        ;
    struct producer q = { .s = s, .first = 0, .n = 8, .timeout = -1 };
    pthread_create(&th, NULL, producer_main, &q);
    CHECK_EQ_INT(poll_flag(&q.done, 50), 0);
    vg_spool_interrupt(s);
    CHECK_EQ_INT(poll_flag(&q.done, 10000), 1);
    pthread_join(th, NULL);
    CHECK_EQ_INT(q.err, VG_ERR_LIMIT);
    CHECK_CONTAINS(q.errbuf, "shutting down");
    vg_spool_close(s);
}

VG_TEST(block_when_full_disk)
{
    char *dir = tmpdir();
    block_when_full(dir);
    rmtree(dir);
    free(dir);
}

VG_TEST(block_when_full_memory)
{
    block_when_full(NULL);
}

VG_TEST(ack_wakes_producer_blocked_on_active_segment)
{
    /* records of ~36 KiB compressed in a 64 KiB spool: the only segment is the active
     * one, so room comes from acknowledging it, not from a deletion */
    struct vg_spool *s = open_spool(NULL, 64 << 10, 0, VG_SPOOL_BLOCK, false);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "c", &c), VG_OK);
    char err[256];
    CHECK_EQ_INT(append_range(s, 0, 1, 60 << 10, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(append_range(s, 1, 1, 60 << 10, 0, err, sizeof(err)), VG_ERR_LIMIT);
    struct producer p = { .s = s, .first = 1, .n = 1, .timeout = 20000 };
    pthread_t th;
    pthread_create(&th, NULL, big_producer_main, &p);
    CHECK_EQ_INT(poll_flag(&p.done, 50), 0);
    int got[4];
    /* read and ack the one stored record, and no more: drain() would go on
     * reading and might catch the producer's record that this ack let in */
    struct vg_spool_batch b;
    CHECK_EQ_INT(vg_spool_read(c, 1000, 0, &b), VG_OK);
    CHECK_EQ_INT(b.n, 1);
    CHECK_EQ_INT(b.n ? event_number(b.events[0], b.lens[0]) : -1, 0);
    if (b.n)
        CHECK_EQ_INT(vg_spool_ack(c, b.pos[b.n - 1], err, sizeof(err)), VG_OK);
    vg_spool_batch_release(&b);
    CHECK_EQ_INT(poll_flag(&p.done, 15000), 1);
    pthread_join(th, NULL);
    /* VG_OK, not the 20 s timeout's VG_ERR_LIMIT: the ack woke it */
    CHECK_EQ_INT(p.err, VG_OK);
    CHECK_EQ_INT(drain(c, got, 4, true), 1);
    CHECK_EQ_INT(got[0], 1);
    vg_spool_close(s);
}

static void drop_oldest_counts(const char *dir)
{
    char err[256];
    struct vg_spool *s = open_spool(dir, 64 << 10, 16 << 10, VG_SPOOL_DROP_OLDEST, false);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "never", &c), VG_OK);
    struct vg_spool_batch b;
    CHECK_EQ_INT(append_range(s, 0, 8, 1000, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_read(c, 3, 0, &b), VG_OK);   /* in flight when dropped */
    CHECK_EQ_INT(vg_spool_ack(c, b.pos[1], err, sizeof(err)), VG_OK);
    log_capture();
    int total = 8;
    for (int i = 1; i < 100; i++, total += 8)
        CHECK_EQ_INT(append_range(s, i * 8, 8, 1000, 0, err, sizeof(err)), VG_OK);
    log_release();
    struct vg_spool_stats st;
    vg_spool_get_stats(s, &st);
    CHECK(st.events_dropped > 0);
    CHECK(st.bytes <= 64 << 10);
    CHECK_CONTAINS(logbuf, "dropped");
    CHECK_CONTAINS(logbuf, "not yet delivered");
    /* a late ack of a dropped position is harmless */
    CHECK_EQ_INT(vg_spool_ack(c, b.pos[2], err, sizeof(err)), VG_OK);
    static int got[1024];
    int n = drain(c, got, 1024, true);
    /* what is left is the newest events, in order, and nothing is both
     * dropped and delivered: 2 were acknowledged before */
    CHECK_EQ_INT((uint64_t)n + st.events_dropped + 2, (uint64_t)total);
    CHECK(n > 0 && is_run(got, n, total - n));
    vg_spool_close(s);
}

VG_TEST(drop_oldest_disk)
{
    char *dir = tmpdir();
    drop_oldest_counts(dir);
    rmtree(dir);
    free(dir);
}

VG_TEST(drop_oldest_memory)
{
    drop_oldest_counts(NULL);
}

VG_TEST(batch_too_large_refused)
{
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_spool(dir, 64 << 10, 16 << 10, VG_SPOOL_DROP_OLDEST, false);
    /* 100 KiB of pseudo-random bytes do not compress below 64 KiB */
    size_t len = 100 << 10;
    char *big = malloc(len + 1);
    unsigned x = 7;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)('!' + (x >> 16) % 90);
    }
    big[len] = '\0';
    const char *ev[1] = { big };
    CHECK_EQ_INT(vg_spool_append(s, ev, &len, 1, 0, err, sizeof(err)), VG_ERR_LIMIT);
    CHECK_CONTAINS(err, "more than the spool holds");
    free(big);
    /* too many events in one batch */
    size_t n = VG_SPOOL_MAX_BATCH_EVENTS + 1;
    const char **many = malloc(n * sizeof(*many));
    size_t *lens = malloc(n * sizeof(*lens));
    for (size_t i = 0; i < n; i++) {
        many[i] = "{}";
        lens[i] = 2;
    }
    CHECK_EQ_INT(vg_spool_append(s, many, lens, n, 0, err, sizeof(err)), VG_ERR_LIMIT);
    CHECK_CONTAINS(err, "65536");
    free(many);
    free(lens);
    struct vg_spool_stats st;
    vg_spool_get_stats(s, &st);
    CHECK_EQ_INT(st.records, 0);
    CHECK_EQ_INT(st.events_dropped, 0);
    vg_spool_close(s);
    rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Recovery                                                             */

/* Builds dir with records of 10, 10 and 10 events (0..29) in one segment;
 * returns the segment path and the offsets where records 2 and 3 start. */
static void build_three(const char *dir, char *seg, size_t seglen, long *off2, long *off3,
                        long *end)
{
    char err[256];
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, false);
    snprintf(seg, seglen, "%s/seg-0000000000000001.vgs", dir);
    CHECK_EQ_INT(append_range(s, 0, 10, 30, 0, err, sizeof(err)), VG_OK);
    *off2 = file_size(seg);
    CHECK_EQ_INT(append_range(s, 10, 10, 30, 0, err, sizeof(err)), VG_OK);
    *off3 = file_size(seg);
    CHECK_EQ_INT(append_range(s, 20, 10, 30, 0, err, sizeof(err)), VG_OK);
    *end = file_size(seg);
    vg_spool_close(s);
}

/* Reopens dir and reads everything with a new cursor. Returns the count. */
static int reopen_and_read(const char *dir, int *got, int max, struct vg_spool_stats *st)
{
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, false);
    if (!s)
        return -1;
    struct vg_spool_cursor *c;
    int n = -1;
    if (vg_spool_cursor(s, "check", &c) == VG_OK)
        n = drain(c, got, max, false);
    vg_spool_get_stats(s, st);
    vg_spool_close(s);
    char path[4096];
    snprintf(path, sizeof(path), "%s/cursor-check", dir);
    unlink(path);
    return n;
}

VG_TEST(torn_tail_every_offset)
{
    char *dir = tmpdir();
    char seg[4096];
    long off2, off3, end;
    build_three(dir, seg, sizeof(seg), &off2, &off3, &end);
    CHECK(off2 > VG_SPOOL_SEG_HDR && off3 > off2 && end > off3);
    size_t len;
    unsigned char *img = read_whole(seg, &len);
    CHECK_EQ_INT(len, end);
    int bad = 0, cuts = 0;
    int got[64];
    char expect[128];
    for (long cut = off3; cut < end; cut++) {
        write_whole(seg, img, (size_t)cut);
        log_capture();
        struct vg_spool_stats st;
        int n = reopen_and_read(dir, got, 64, &st);
        log_release();
        cuts++;
        snprintf(expect, sizeof(expect), "corrupt record at offset %ld", off3);
        bool ok = n == 20 && is_run(got, n, 0) && file_size(seg) == off3 &&
                  st.corrupt_records == (cut > off3 ? 1u : 0u) &&
                  (cut == off3 || strstr(logbuf, expect));
        if (!ok) {
            fprintf(stderr, "  cut at %ld: n=%d size=%ld corrupt=%llu log=%s\n", cut, n,
                    file_size(seg), (unsigned long long)st.corrupt_records, logbuf);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(cuts > 40);
    /* a segment cut inside its header is removed, and that is all */
    write_whole(seg, img, 10);
    struct vg_spool_stats st;
    log_capture();
    CHECK_EQ_INT(reopen_and_read(dir, got, 64, &st), 0);
    log_release();
    CHECK_CONTAINS(logbuf, "bad segment header");
    CHECK(!file_exists(dir, "seg-0000000000000001.vgs"));
    free(img);
    rmtree(dir);
    free(dir);
}

VG_TEST(flipped_bytes_every_offset_of_last_record)
{
    char *dir = tmpdir();
    char seg[4096];
    long off2, off3, end;
    build_three(dir, seg, sizeof(seg), &off2, &off3, &end);
    size_t len;
    unsigned char *img = read_whole(seg, &len);
    int bad = 0;
    int got[64];
    for (long at = off3; at < end; at++) {
        img[at] ^= 0x5a;
        write_whole(seg, img, len);
        img[at] ^= 0x5a;
        log_capture();
        struct vg_spool_stats st;
        int n = reopen_and_read(dir, got, 64, &st);
        log_release();
        if (!(n == 20 && is_run(got, n, 0) && st.corrupt_records == 1 &&
              file_size(seg) == off3 && strstr(logbuf, "cutting off"))) {
            fprintf(stderr, "  flip at %ld: n=%d corrupt=%llu log=%s\n", at, n,
                    (unsigned long long)st.corrupt_records, logbuf);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(img);
    rmtree(dir);
    free(dir);
}

VG_TEST(corrupt_middle_record_and_later_segments)
{
    char *dir = tmpdir();
    char err[256];
    /* records 1..3 in segment 1, then a new segment (reopen with a tiny
     * segment size forces one) holding record 4 */
    char seg[4096];
    long off2, off3, end;
    build_three(dir, seg, sizeof(seg), &off2, &off3, &end);
    struct vg_spool *s = open_spool(dir, 1 << 20, 256, VG_SPOOL_BLOCK, false);
    CHECK_EQ_INT(append_range(s, 30, 10, 30, 0, err, sizeof(err)), VG_OK);
    vg_spool_close(s);
    char segs[8][64];
    CHECK_EQ_INT(list_segments(dir, segs, 8), 2);
    /* flip the CRC of record 2: records 2 and 3 go, 1 and 4 stay */
    size_t len;
    unsigned char *img = read_whole(seg, &len);
    img[off2 + 5] ^= 1;
    write_whole(seg, img, len);
    free(img);
    int got[64];
    struct vg_spool_stats st;
    log_capture();
    int n = reopen_and_read(dir, got, 64, &st);
    log_release();
    CHECK_EQ_INT(n, 20);
    CHECK(is_run(got, 10, 0));
    CHECK(is_run(got + 10, 10, 30));
    CHECK_EQ_INT(st.corrupt_records, 1);
    CHECK_CONTAINS(logbuf, "bad CRC");
    /* a bad segment header removes that segment only */
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, segs[1]);
    img = read_whole(path, &len);
    img[2] ^= 1;
    write_whole(path, img, len);
    free(img);
    log_capture();
    n = reopen_and_read(dir, got, 64, &st);
    log_release();
    CHECK_EQ_INT(n, 10);
    CHECK(is_run(got, n, 0));
    CHECK_CONTAINS(logbuf, "bad segment header");
    rmtree(dir);
    free(dir);
}

VG_TEST(numbering_passes_cursors_after_cut)
{
    /* a cursor acknowledged a record that is then cut: the next records
     * must get new numbers, or the cursor would skip them */
    char *dir = tmpdir();
    char err[256];
    char seg[4096];
    long off2, off3, end;
    build_three(dir, seg, sizeof(seg), &off2, &off3, &end);
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, false);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "c", &c), VG_OK);
    int got[64];
    CHECK_EQ_INT(drain(c, got, 64, true), 30);
    vg_spool_close(s);
    if (truncate(seg, off3 + 7) != 0)
        CHECK(0);
    s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, false);
    CHECK_EQ_INT(vg_spool_cursor(s, "c", &c), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 0);
    CHECK_EQ_INT(append_range(s, 100, 20, 30, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 20);
    int n = drain(c, got, 64, true);
    CHECK_EQ_INT(n, 20);
    CHECK(is_run(got, n, 100));
    vg_spool_close(s);
    rmtree(dir);
    free(dir);
}

VG_TEST(corrupt_cursor_restarts_from_oldest)
{
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, true);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "es", &c), VG_OK);
    CHECK_EQ_INT(vg_spool_cursor(s, "kafka", &c), VG_OK);
    CHECK_EQ_INT(append_range(s, 0, 10, 10, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(append_range(s, 10, 10, 10, 0, err, sizeof(err)), VG_OK);
    int got[64];
    CHECK_EQ_INT(vg_spool_cursor(s, "es", &c), VG_OK);
    CHECK_EQ_INT(drain(c, got, 64, true), 20);
    CHECK_EQ_INT(vg_spool_cursor(s, "kafka", &c), VG_OK);
    CHECK_EQ_INT(drain(c, got, 64, true), 20);
    CHECK_EQ_INT(append_range(s, 20, 5, 10, 0, err, sizeof(err)), VG_OK);
    vg_spool_close(s);
    char path[4096];
    snprintf(path, sizeof(path), "%s/cursor-es", dir);
    size_t len;
    unsigned char *img = read_whole(path, &len);
    CHECK_EQ_INT(len, VG_SPOOL_CURSOR_SIZE);
    struct vg_spool_pos pos;
    const char *why;
    CHECK_EQ_INT(vg_spool_parse_cursor(img, len, &pos, &why), 0);
    CHECK_EQ_INT(pos.seq, 2);
    CHECK_EQ_INT(pos.idx, 10);
    img[9] ^= 1;
    CHECK_EQ_INT(vg_spool_parse_cursor(img, len, &pos, &why), -1);
    CHECK_EQ_STR(why, "bad CRC");
    write_whole(path, img, len);
    free(img);
    snprintf(path, sizeof(path), "%s/cursor-kafka", dir);
    write_whole(path, "", 0);
    snprintf(path, sizeof(path), "%s/cursor-es.tmp", dir);
    write_whole(path, "junk", 4);

    log_capture();
    s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, true);
    log_release();
    CHECK_CONTAINS(logbuf, "cursor-es is corrupt (bad CRC)");
    CHECK_CONTAINS(logbuf, "cursor-kafka is corrupt (wrong size)");
    CHECK(!file_exists(dir, "cursor-es.tmp"));
    CHECK_EQ_INT(vg_spool_cursor(s, "es", &c), VG_OK);
    /* the segment was kept (the ack did not delete the active segment),
     * so everything comes again: duplicates, not loss */
    int n = drain(c, got, 64, true);
    CHECK_EQ_INT(n, 25);
    CHECK(is_run(got, n, 0));
    vg_spool_close(s);
    rmtree(dir);
    free(dir);
}

VG_TEST(scan_image_direct)
{
    /* the in-memory scanner the fuzz target drives */
    unsigned char hdr[VG_SPOOL_SEG_HDR];
    vg_spool_segment_header(5, hdr);
    const char *ev[3] = { "{\"a\":1}", "", "{\"b\":2}" };
    size_t lens[3] = { 7, 0, 7 };
    unsigned char *r1, *r2;
    size_t l1, l2;
    CHECK_EQ_INT(vg_spool_encode_record(ev, lens, NULL, NULL, 3, 5, &r1, &l1), VG_OK);
    CHECK_EQ_INT(vg_spool_encode_record(ev, lens, NULL, NULL, 2, 6, &r2, &l2), VG_OK);
    size_t len = sizeof(hdr) + l1 + l2;
    unsigned char *img = malloc(len);
    memcpy(img, hdr, sizeof(hdr));
    memcpy(img + sizeof(hdr), r1, l1);
    memcpy(img + sizeof(hdr) + l1, r2, l2);
    struct vg_spool_scan sc;
    vg_spool_scan_image(img, len, true, &sc);
    CHECK_EQ_INT(sc.damage, VG_SPOOL_INTACT);
    CHECK_EQ_INT(sc.records, 2);
    CHECK_EQ_INT(sc.events, 5);
    CHECK_EQ_INT(sc.first_seq, 5);
    CHECK_EQ_INT(sc.last_seq, 6);
    CHECK_EQ_INT(sc.last_count, 2);
    CHECK_EQ_INT(sc.valid_bytes, len);
    /* out of order */
    memcpy(img + sizeof(hdr), r2, l2);
    memcpy(img + sizeof(hdr) + l2, r1, l1);
    vg_spool_scan_image(img, len, true, &sc);
    CHECK_EQ_INT(sc.damage, VG_SPOOL_CUT);
    CHECK_EQ_INT(sc.valid_bytes, sizeof(hdr));
    CHECK_CONTAINS(sc.why, "sequence number 6, expected 5");
    /* another version, with a good CRC: not ours to cut */
    unsigned char v2[VG_SPOOL_SEG_HDR];
    memcpy(v2, hdr, sizeof(v2));
    v2[4] = 2;
    uint32_t crc = vg_crc32c(0, v2, 20);
    for (int i = 0; i < 4; i++)
        v2[20 + i] = (unsigned char)(crc >> (8 * i));
    vg_spool_scan_image(v2, sizeof(v2), true, &sc);
    CHECK_EQ_INT(sc.damage, VG_SPOOL_BAD_VERSION);
    vg_spool_scan_image(hdr, 3, true, &sc);
    CHECK_EQ_INT(sc.damage, VG_SPOOL_BAD_HEADER);
    free(img);
    free(r1);
    free(r2);
}

VG_TEST(future_version_refused)
{
    char *dir = tmpdir();
    unsigned char v2[VG_SPOOL_SEG_HDR];
    vg_spool_segment_header(1, v2);
    v2[4] = 2;
    uint32_t crc = vg_crc32c(0, v2, 20);
    for (int i = 0; i < 4; i++)
        v2[20 + i] = (unsigned char)(crc >> (8 * i));
    char path[4096];
    snprintf(path, sizeof(path), "%s/seg-0000000000000001.vgs", dir);
    write_whole(path, v2, sizeof(v2));
    char err[256] = "";
    struct vg_spool_opts o = { .dir = dir, .max_bytes = 1 << 20 };
    CHECK(vg_spool_open(&o, err, sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "format version 2");
    CHECK(file_exists(dir, "seg-0000000000000001.vgs"));
    rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Faults                                                               */

VG_TEST(fsync_failure_not_accepted)
{
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, true);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "c", &c), VG_OK);
    CHECK_EQ_INT(append_range(s, 0, 5, 10, 0, err, sizeof(err)), VG_OK);
    vg_spool_test_fail_sync(s, 1);
    CHECK_EQ_INT(append_range(s, 5, 5, 10, 0, err, sizeof(err)), VG_ERR_IO);
    CHECK_CONTAINS(err, "cannot sync");
    CHECK_CONTAINS(err, "not accepted");
    CHECK_EQ_INT(append_range(s, 10, 5, 10, 0, err, sizeof(err)), VG_OK);
    int got[64];
    int n = drain(c, got, 64, false);
    CHECK_EQ_INT(n, 10);
    CHECK(is_run(got, 5, 0));
    CHECK(is_run(got + 5, 5, 10));
    /* a cursor whose write fails does not move */
    vg_spool_rewind(c);
    struct vg_spool_batch b;
    CHECK_EQ_INT(vg_spool_read(c, 100, 0, &b), VG_OK);
    vg_spool_test_fail_sync(s, 1);
    CHECK_EQ_INT(vg_spool_ack(c, b.pos[b.n - 1], err, sizeof(err)), VG_ERR_IO);
    CHECK_CONTAINS(err, "cursor");
    CHECK_EQ_INT(vg_spool_pending(c), 10);
    CHECK_EQ_INT(vg_spool_ack(c, b.pos[b.n - 1], err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(vg_spool_pending(c), 5);
    vg_spool_close(s);
    /* nothing to cut at the next open; the segment "c" is done with is
     * gone (the failed write closed it), the rest is still there */
    struct vg_spool_stats st;
    n = reopen_and_read(dir, got, 64, &st);
    CHECK_EQ_INT(st.corrupt_records, 0);
    CHECK_EQ_INT(n, 5);
    CHECK(is_run(got, n, 10));
    rmtree(dir);
    free(dir);
}

VG_TEST(write_failure_not_accepted)
{
    /* RLIMIT_FSIZE makes a real write fail part way (EFBIG) */
    char *dir = tmpdir();
    char err[256];
    struct vg_spool *s = open_spool(dir, 1 << 20, 0, VG_SPOOL_BLOCK, false);
    CHECK_EQ_INT(append_range(s, 0, 5, 10, 0, err, sizeof(err)), VG_OK);
    char segs[4][64], path[4096];
    CHECK_EQ_INT(list_segments(dir, segs, 4), 1);
    snprintf(path, sizeof(path), "%s/%s", dir, segs[0]);
    long size = file_size(path);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)size + 100;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    CHECK_EQ_INT(append_range(s, 5, 50, 200, 0, err, sizeof(err)), VG_ERR_IO);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    CHECK_CONTAINS(err, "cannot write");
    CHECK_EQ_INT(file_size(path), size);   /* the partial record was cut */
    CHECK_EQ_INT(append_range(s, 55, 5, 10, 0, err, sizeof(err)), VG_OK);
    vg_spool_close(s);
    int got[64];
    struct vg_spool_stats st;
    int n = reopen_and_read(dir, got, 64, &st);
    CHECK_EQ_INT(st.corrupt_records, 0);
    CHECK_EQ_INT(n, 10);
    CHECK(is_run(got, 5, 0));
    CHECK(is_run(got + 5, 5, 55));
    rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ */
/* Threads                                                              */

struct consumer {
    struct vg_spool_cursor *c;
    int total;
    int next;          /* the next number expected */
    int errors;
    atomic_int done;
};

static void *consumer_main(void *arg)
{
    struct consumer *k = arg;
    char err[256];
    while (k->next < k->total) {
        struct vg_spool_batch b;
        if (vg_spool_read(k->c, 1 + (size_t)(k->next % 7) * 50, 1000, &b) != VG_OK) {
            k->errors++;
            break;
        }
        for (size_t i = 0; i < b.n; i++)
            if (event_number(b.events[i], b.lens[i]) != k->next++)
                k->errors++;
        if (b.n && vg_spool_ack(k->c, b.pos[b.n - 1], err, sizeof(err)) != VG_OK)
            k->errors++;
        vg_spool_batch_release(&b);
        if (k->errors)
            break;
    }
    atomic_store(&k->done, 1);
    return NULL;
}

static void threads(const char *dir)
{
    /* a small spool: the producer blocks often, segments come and go */
    struct vg_spool *s = open_spool(dir, 256 << 10, 32 << 10, VG_SPOOL_BLOCK, false);
    struct consumer k[2] = { { .total = 20000 }, { .total = 20000 } };
    CHECK_EQ_INT(vg_spool_cursor(s, "one", &k[0].c), VG_OK);
    CHECK_EQ_INT(vg_spool_cursor(s, "two", &k[1].c), VG_OK);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, consumer_main, &k[i]);
    char err[256];
    int sent = 0, failures = 0;
    while (sent < 20000) {
        int n = 1 + sent % 97;
        if (n > 20000 - sent)
            n = 20000 - sent;
        if (append_range(s, sent, n, 300, 10000, err, sizeof(err)) != VG_OK) {
            fprintf(stderr, "  append: %s\n", err);
            failures++;
            break;
        }
        sent += n;
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(k[i].errors, 0);
        CHECK_EQ_INT(k[i].next, 20000);
        CHECK_EQ_INT(vg_spool_pending(k[i].c), 0);
    }
    CHECK_EQ_INT(failures, 0);
    struct vg_spool_stats st;
    vg_spool_get_stats(s, &st);
    CHECK(st.bytes <= 256 << 10);
    fprintf(stderr, "  threads (%s): producer blocked %llu ms\n", dir ? "disk" : "memory",
            (unsigned long long)st.blocked_ms);
    vg_spool_close(s);
}

VG_TEST(threads_disk)
{
    char *dir = tmpdir();
    threads(dir);
    rmtree(dir);
    free(dir);
}

VG_TEST(threads_memory)
{
    threads(NULL);
}

struct waiter {
    struct vg_spool_cursor *c;
    size_t n;
    atomic_int done;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;
    struct vg_spool_batch b;
    vg_spool_read(w->c, 10, -1, &b);
    w->n = b.n;
    atomic_store(&w->done, 1);
    return NULL;
}

VG_TEST(reader_wakes_on_append_and_interrupt)
{
    struct vg_spool *s = open_spool(NULL, 1 << 20, 0, VG_SPOOL_BLOCK, false);
    struct waiter w = { 0 };
    CHECK_EQ_INT(vg_spool_cursor(s, "w", &w.c), VG_OK);
    pthread_t th;
    pthread_create(&th, NULL, waiter_main, &w);
    CHECK_EQ_INT(poll_flag(&w.done, 30), 0);
    char err[256];
    CHECK_EQ_INT(append_range(s, 0, 3, 10, 0, err, sizeof(err)), VG_OK);
    CHECK_EQ_INT(poll_flag(&w.done, 10000), 1);
    pthread_join(th, NULL);
    CHECK_EQ_INT(w.n, 3);
    struct waiter w2 = { .c = w.c };
    pthread_create(&th, NULL, waiter_main, &w2);
    CHECK_EQ_INT(poll_flag(&w2.done, 30), 0);
    vg_spool_interrupt(s);
    CHECK_EQ_INT(poll_flag(&w2.done, 10000), 1);
    pthread_join(th, NULL);
    CHECK_EQ_INT(w2.n, 0);
    vg_spool_close(s);
}

/* ------------------------------------------------------------------ */
/* Throughput (printed, not asserted)                                   */

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void throughput(const char *dir, bool fsync_on)
{
    enum { EVENTS = 200000, BATCH = 1000, SIZE = 600, ACK_EVERY = 5000 };
    struct vg_spool *s = open_spool(dir, (uint64_t)1 << 30, 0, VG_SPOOL_BLOCK, fsync_on);
    struct vg_spool_cursor *c;
    CHECK_EQ_INT(vg_spool_cursor(s, "bench", &c), VG_OK);
    /* findings-like events: much shared text, some that differs */
    char **ev = malloc(BATCH * sizeof(*ev));
    size_t *lens = malloc(BATCH * sizeof(*lens));
    for (int i = 0; i < BATCH; i++)
        ev[i] = malloc(SIZE + 200);
    uint64_t raw = 0;
    double append_cpu = 0, append_wall = 0, read_cpu = 0, read_wall = 0;
    char err[256];
    int failures = 0;
    for (int sent = 0; sent < EVENTS; sent += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            int n = snprintf(ev[i], SIZE + 200,
                             "{\"n\":%d,\"@timestamp\":\"2026-11-26T07:48:58.652Z\","
                             "\"event\":{\"kind\":\"state\",\"id\":\"%08x%08x\","
                             "\"outcome\":\"%s\"},"
                             "\"rule\":{\"id\":\"host.sshd.rule_%d\",\"name\":\"SSH root login is "
                             "disabled\",\"description\":\"The SSH daemon must not permit root "
                             "to log in directly; administrators log in as themselves and use "
                             "sudo.\"},\"host\":{\"name\":\"web-%03d\"},\"resource\":{\"id\":"
                             "\"/etc/ssh/sshd_config\"},\"message\":\"PermitRootLogin is %s\"}",
                             sent + i, (unsigned)(sent + i) * 2654435761u,
                             (unsigned)(sent + i) * 40503u, (sent + i) % 3 ? "failure" : "success",
                             (sent + i) % 40, (sent + i) % 200, (sent + i) % 2 ? "yes" : "no");
            lens[i] = (size_t)n;
            raw += (uint64_t)n;
        }
        double c0 = cpu_now(), w0 = wall_now();
        if (vg_spool_append(s, (const char *const *)ev, lens, BATCH, -1, err, sizeof(err)))
            failures++;
        append_cpu += cpu_now() - c0;
        append_wall += wall_now() - w0;
    }
    struct vg_spool_stats st;
    vg_spool_get_stats(s, &st);
    int got = 0, bad = 0, unacked = 0;
    for (;;) {
        struct vg_spool_batch b;
        double c0 = cpu_now(), w0 = wall_now();
        enum vg_err e = vg_spool_read(c, 100000, 0, &b);
        unacked += e == VG_OK ? (int)b.n : 0;
        if (e == VG_OK && b.n && (unacked >= ACK_EVERY || got + (int)b.n == EVENTS)) {
            vg_spool_ack(c, b.pos[b.n - 1], err, sizeof(err));   /* as a bulk output would */
            unacked = 0;
        }
        read_cpu += cpu_now() - c0;
        read_wall += wall_now() - w0;
        if (e != VG_OK || b.n == 0)
            break;
        for (size_t i = 0; i < b.n; i++)
            bad += event_number(b.events[i], b.lens[i]) != got++;
    }
    int64_t append_ms = (int64_t)(append_wall * 1000), read_ms = (int64_t)(read_wall * 1000);
    CHECK_EQ_INT(failures, 0);
    CHECK_EQ_INT(got, EVENTS);
    CHECK_EQ_INT(bad, 0);
    fprintf(stderr,
            "  throughput (%s%s): %d events of ~%llu bytes in batches of %d: "
            "append %.0f events/s (%.2f CPU-s, %lld ms), read+ack (every %d) %.0f events/s "
            "(%.2f CPU-s, %lld ms); %llu raw bytes stored as %llu (%.1fx)\n",
            dir ? "disk" : "memory", dir ? (fsync_on ? ", fsync" : ", no fsync") : "", EVENTS,
            (unsigned long long)(raw / EVENTS), BATCH,
            EVENTS / (append_ms > 0 ? append_ms / 1000.0 : 0.001), append_cpu,
            (long long)append_ms, ACK_EVERY, EVENTS / (read_ms > 0 ? read_ms / 1000.0 : 0.001),
            read_cpu,
            (long long)read_ms, (unsigned long long)raw, (unsigned long long)st.bytes,
            st.bytes ? (double)raw / (double)st.bytes : 0.0);
    for (int i = 0; i < BATCH; i++)
        free(ev[i]);
    free(ev);
    free(lens);
    vg_spool_close(s);
}

VG_TEST(throughput_disk)
{
    char *dir = tmpdir();
    throughput(dir, true);
    rmtree(dir);
    free(dir);
}

VG_TEST(throughput_memory)
{
    throughput(NULL, false);
}

VG_TEST_MAIN()
