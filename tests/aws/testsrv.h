/*
 * Starting and stopping the Python test servers of tests/aws/ from a C
 * test: the server is a child process that dies with the test (a parent
 * death signal), prints "PORT <n>" when it listens, and is read with a
 * deadline; nothing sleeps.
 */
#ifndef VG_TEST_AWS_SRV_H
#define VG_TEST_AWS_SRV_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct testsrv {
    pid_t pid;
    int port;
    char base[64];      /* "http://127.0.0.1:PORT" */
};

static long long testsrv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs argv (argv[0] looked up in PATH) and waits up to deadline_ms for
 * "PORT <n>" on its stdout. 0, or -1 with a message on stderr. */
static int testsrv_start(struct testsrv *s, char *const argv[], long long deadline_ms)
{
    memset(s, 0, sizeof(*s));
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    s->pid = pid;
    char line[128];
    size_t n = 0;
    long long end = testsrv_now_ms() + deadline_ms;
    while (n < sizeof(line) - 1) {
        long long left = end - testsrv_now_ms();
        struct pollfd pfd = { fds[0], POLLIN, 0 };
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        ssize_t k = read(fds[0], line + n, 1);
        if (k <= 0)
            break;
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    if (sscanf(line, "PORT %d", &s->port) != 1 || s->port <= 0) {
        fprintf(stderr, "test server %s did not start (read \"%s\")\n", argv[1] ? argv[1] : argv[0],
                line);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        s->pid = 0;
        return -1;
    }
    snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
    return 0;
}

/* Starts tests/aws/<script> with /usr/bin/python3. */
static int testsrv_start_script(struct testsrv *s, const char *script)
{
    const char *src = getenv("VG_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/aws/%s", src ? src : ".", script);
    char *argv[] = { "/usr/bin/python3", path, NULL };
    return testsrv_start(s, argv, 15000);
}

static void testsrv_stop(struct testsrv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

#endif
