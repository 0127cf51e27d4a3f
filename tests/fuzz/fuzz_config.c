/*
 * Fuzz target for the configuration loader: YAML parsing, ${VAR}
 * expansion, the schema walk, and, for what loads, the printer, whose
 * output must load again and print the same.
 */
#include "agent/buf.h"
#include "config/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The print of c without its first line (a comment naming the file). */
static char *body(const struct vg_config *c)
{
    struct vg_buf out;
    vg_buf_init(&out, 1u << 22);
    char *s = NULL;
    if (vg_config_print(c, &out) == 0) {
        const char *nl = strchr(vg_buf_str(&out), '\n');
        s = strdup(nl ? nl + 1 : "");
    }
    vg_buf_free(&out);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char errbuf[512];
    struct vg_config *c = vg_config_load_string("fuzz.yml", (const char *)data, size, errbuf,
                                                sizeof(errbuf));
    if (!c) {
        /* an error is one line */
        if (strchr(errbuf, '\n'))
            abort();
        return 0;
    }
    char *first = body(c);
    if (first) {
        struct vg_config *again = vg_config_load_string("printed.yml", first, strlen(first),
                                                        errbuf, sizeof(errbuf));
        if (!again)
            abort();
        char *second = body(again);
        if (!second || strcmp(first, second) != 0)
            abort();
        free(second);
        vg_config_destroy(again);
    }
    free(first);
    vg_config_destroy(c);
    return 0;
}
