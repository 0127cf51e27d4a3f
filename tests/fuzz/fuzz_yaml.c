/* Fuzz target: the YAML loader and its conversion to JSON values. */
#include "agent/json.h"
#include "config/yaml.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct vg_ynode *root = vg_yaml_load_string("fuzz.yml", (const char *)data, size, err,
                                                sizeof(err));
    if (!root)
        return 0;
    struct vg_json *j = vg_yaml_to_json(root);
    struct vg_buf b;
    vg_buf_init(&b, 1u << 26);
    if (j)
        vg_json_dump(j, &b);
    vg_buf_free(&b);
    vg_json_free(j);
    vg_yaml_free(root);
    return 0;
}
