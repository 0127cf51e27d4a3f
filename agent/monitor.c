/*
 * The monitoring endpoint (see monitor.h).
 */
#include "monitor.h"

#include "log.h"
#include "timeutil.h"

#include <microhttpd.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MONITOR_MAX_CONNECTIONS 16
#define MONITOR_TIMEOUT_S 10
#define MONITOR_MAX_BODY (4u << 20)

struct vg_monitor {
    struct MHD_Daemon *d;
    vg_monitor_fill_fn fill;
    void *opaque;
    unsigned port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             struct vg_buf *body)
{
    size_t len = body->len;
    char *data = vg_buf_detach(body);
    if (!data && len)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(
        len, data ? data : (char *)"", data ? free : NULL);
    if (!r) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **req_cls)
{
    struct vg_monitor *m = cls;
    (void)version;
    (void)upload;
    /* the first call only announces the request */
    if (!*req_cls) {
        *req_cls = m;
        return MHD_YES;
    }
    struct vg_buf body;
    vg_buf_init(&body, MONITOR_MAX_BODY);
    if (*upload_len) {   /* a body is not expected: drop it */
        *upload_len = 0;
        return MHD_YES;
    }
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool health = strcmp(url, "/health") == 0, metrics = strcmp(url, "/metrics") == 0;
    if (!health && !metrics) {
        vg_buf_appends(&body, "not found: try /health or /metrics\n");
        return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", &body);
    }
    if (!get) {
        vg_buf_appends(&body, "method not allowed\n");
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", &body);
    }
    struct vg_metrics_snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return MHD_NO;
    m->fill(s, m->opaque);
    enum MHD_Result ret;
    if (health) {
        bool ok = false;
        if (vg_metrics_health_json(s, &body, &ok) != VG_OK) {
            free(s);
            vg_buf_free(&body);
            return MHD_NO;
        }
        vg_buf_appendc(&body, '\n');
        ret = reply(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                    &body);
    } else {
        if (vg_metrics_prometheus(s, &body) != VG_OK) {
            free(s);
            vg_buf_free(&body);
            return MHD_NO;
        }
        ret = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body);
    }
    free(s);
    vg_buf_free(&body);
    return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    vg_log(VG_LOG_WARN, "http", "%s", line);
}

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port. */
static int split_listen(const char *listen, char *host, size_t hostlen, char *port,
                        size_t portlen)
{
    const char *colon;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            return -1;
        if ((size_t)(close - listen - 1) >= hostlen)
            return -1;
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= hostlen || colon == listen)
            return -1;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) >= portlen || strspn(p, "0123456789") != strlen(p) || atoi(p) > 65535)
        return -1;
    snprintf(port, portlen, "%s", p);
    return 0;
}

struct vg_monitor *vg_monitor_start(const char *listen, vg_monitor_fill_fn fill, void *opaque,
                                    char *errbuf, size_t errlen)
{
    char host[256], port[8];
    if (split_listen(listen, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(errbuf, errlen, "agent.http.listen: '%s' is not HOST:PORT", listen);
        return NULL;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(errbuf, errlen, "agent.http.listen: cannot resolve %s: %s", host,
                 gai_strerror(gai));
        return NULL;
    }
    struct vg_monitor *m = calloc(1, sizeof(*m));
    if (!m) {
        freeaddrinfo(ai);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    m->fill = fill;
    m->opaque = opaque;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, m,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)MONITOR_MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MONITOR_TIMEOUT_S,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!m->d) {
        snprintf(errbuf, errlen, "agent.http.listen: cannot listen on %s (in use, or not an "
                                 "address of this machine)", listen);
        free(m);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : (unsigned)atoi(port);
    vg_log(VG_LOG_INFO, "http", "monitoring endpoint listening on %s%s%s:%u (/health, /metrics)",
           strchr(host, ':') ? "[" : "", host,
           strchr(host, ':') ? "]" : "", m->port);
    return m;
}

unsigned vg_monitor_port(const struct vg_monitor *m)
{
    return m ? m->port : 0;
}

void vg_monitor_stop(struct vg_monitor *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
