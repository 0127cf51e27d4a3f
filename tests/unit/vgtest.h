/*
 * A tiny assertion header. Each failed assertion prints file, line, and
 * both values; the test goes on to its end, and the executable exits 1
 * if any assertion failed.
 *
 *   VG_TEST(json_roundtrip) { CHECK_EQ_INT(1 + 1, 2); }
 *   int main(void) { return vg_test_run(); }   (VG_TEST_MAIN does this)
 */
#ifndef VG_TEST_H
#define VG_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*vg_test_fn)(void);

struct vg_test_case {
    const char *name;
    vg_test_fn fn;
};

#define VG_TEST_MAX 512
static struct vg_test_case vg_test_cases[VG_TEST_MAX];
static int vg_test_ncases;
static int vg_test_failures;
static int vg_test_checks;

static inline void vg_test_register(const char *name, vg_test_fn fn)
{
    if (vg_test_ncases < VG_TEST_MAX)
        vg_test_cases[vg_test_ncases++] = (struct vg_test_case){ name, fn };
}

#define VG_TEST(name)                                                        \
    static void test_##name(void);                                           \
    __attribute__((constructor)) static void register_##name(void)           \
    {                                                                        \
        vg_test_register(#name, test_##name);                                \
    }                                                                        \
    static void test_##name(void)

#define VG_FAIL_AT(...)                                                      \
    do {                                                                     \
        vg_test_failures++;                                                  \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                      \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
    } while (0)

#define CHECK(cond)                                                          \
    do {                                                                     \
        vg_test_checks++;                                                    \
        if (!(cond))                                                         \
            VG_FAIL_AT("CHECK(%s) failed", #cond);                           \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                   \
    do {                                                                     \
        vg_test_checks++;                                                    \
        long long va_ = (long long)(a), vb_ = (long long)(b);                \
        if (va_ != vb_)                                                      \
            VG_FAIL_AT("%s == %s: %lld != %lld", #a, #b, va_, vb_);          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                   \
    do {                                                                     \
        vg_test_checks++;                                                    \
        const char *sa_ = (a), *sb_ = (b);                                   \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                           \
            VG_FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b,                 \
                       sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");          \
    } while (0)

/* a contains b */
#define CHECK_CONTAINS(a, b)                                                 \
    do {                                                                     \
        vg_test_checks++;                                                    \
        const char *sa_ = (a), *sb_ = (b);                                   \
        if (!sa_ || !sb_ || !strstr(sa_, sb_))                               \
            VG_FAIL_AT("%s contains %s: \"%s\" lacks \"%s\"", #a, #b,        \
                       sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");          \
    } while (0)

static inline int vg_test_run(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    int ran = 0;
    for (int i = 0; i < vg_test_ncases; i++) {
        if (only && strcmp(only, vg_test_cases[i].name) != 0)
            continue;
        int before = vg_test_failures;
        vg_test_cases[i].fn();
        ran++;
        fprintf(stderr, "%s %s\n", vg_test_failures == before ? "ok  " : "FAIL",
                vg_test_cases[i].name);
    }
    fprintf(stderr, "%d tests, %d checks, %d failures\n", ran, vg_test_checks,
            vg_test_failures);
    if (ran == 0)
        return 1;
    return vg_test_failures ? 1 : 0;
}

#define VG_TEST_MAIN()                                                       \
    int main(int argc, char **argv) { return vg_test_run(argc, argv); }

#endif
