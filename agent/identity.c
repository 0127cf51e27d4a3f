#include "identity.h"
#include "buf.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_id(const char *path, char out[VG_UUID_STR_LEN])
{
    struct vg_buf b;
    vg_buf_init(&b, 256);
    uint8_t raw[16];
    int rc = -1;
    if (vg_buf_read_file(&b, path) == VG_OK) {
        char *s = b.data;
        s[strcspn(s, "\r\n \t")] = '\0';
        if (vg_uuid_parse(s, raw) == 0) {
            snprintf(out, VG_UUID_STR_LEN, "%s", s);
            rc = 0;
        }
    }
    vg_buf_free(&b);
    return rc;
}

static int write_id(const char *dir, const char *path, const char *id)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return -1;
    char tmp[4096 + 32];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    char line[VG_UUID_STR_LEN + 1];
    int n = snprintf(line, sizeof(line), "%s\n", id);
    int ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

void vg_agent_id(const char *state_dir, char out[VG_UUID_STR_LEN])
{
    char path[4096];
    if (state_dir && snprintf(path, sizeof(path), "%s/agent.id", state_dir) < (int)sizeof(path)) {
        if (read_id(path, out) == 0)
            return;
        if (vg_uuid_v4(out) == VG_OK && write_id(state_dir, path, out) == 0)
            return;
        vg_log(VG_LOG_DEBUG, "agent", "cannot keep the agent id in %s: %s; deriving it", path,
               strerror(errno));
    }
    char basis[256] = "";
    struct vg_buf b;
    vg_buf_init(&b, 256);
    if (vg_buf_read_file(&b, "/etc/machine-id") == VG_OK && b.len > 1) {
        b.data[strcspn(b.data, "\r\n")] = '\0';
        snprintf(basis, sizeof(basis), "%s", b.data);
    }
    vg_buf_free(&b);
    if (!basis[0] && gethostname(basis, sizeof(basis) - 1) != 0)
        snprintf(basis, sizeof(basis), "unknown");
    char name[512];
    snprintf(name, sizeof(name), "agent:%s", basis);
    vg_uuid_v5(vg_uuid_ns_vigil, name, strlen(name), out);
}
