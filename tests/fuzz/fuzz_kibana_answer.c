/* Fuzz target: Kibana's answers to `vigil setup --kibana` (the saved
 * objects and the detection rules import). Whatever the body, the reader
 * returns one of its documented errors with a one-line message, never
 * counts more objects imported than Kibana could have taken, and writes
 * only whole lines. */
#include "agent/kibana.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum vg_kibana_asset_kind kind = data[0] & 1 ? VG_KIBANA_DETECTION_RULES : VG_KIBANA_SAVED_OBJECTS;
    static const long statuses[] = { 200, 200, 200, 400, 401, 403, 404, 409, 413, 500, 503, 302 };
    long status = statuses[(data[0] >> 1) % (sizeof(statuses) / sizeof(statuses[0]))];
    size_t expected = data[1] % 16;
    char *out_text = NULL;
    size_t out_len = 0;
    FILE *out = open_memstream(&out_text, &out_len);
    if (!out)
        return 0;
    size_t imported = (size_t)-1;
    char err[512];
    err[0] = '\0';
    enum vg_err e = vg_kibana_read_answer(kind, status, (const char *)data + 2, size - 2,
                                          expected, out, &imported, err, sizeof(err));
    fclose(out);
    if (e != VG_OK && e != VG_ERR_IO && e != VG_ERR_PERM && e != VG_ERR_PARSE &&
        e != VG_ERR_CONFIG && e != VG_ERR_LIMIT && e != VG_ERR_NOMEM)
        abort();
    if (e != VG_OK && (!err[0] || strchr(err, '\n')))
        abort();
    if (out_len && out_text[out_len - 1] != '\n')
        abort();
    free(out_text);
    return 0;
}
