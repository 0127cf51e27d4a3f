/*
 * RDS collector: DB instances, one paginated DescribeDBInstances per
 * region.
 *
 * aws.rds.db-instance, id the DBInstanceArn:
 *   {"db_instance_identifier","engine","engine_version","db_instance_class",
 *    "status","storage_encrypted": bool,"kms_key_id",
 *    "publicly_accessible": bool,"multi_az": bool,"db_cluster_identifier"}
 */
#include "collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rds_lists[] = { "DBInstances", "TagList", "VpcSecurityGroups",
                                         "DBSecurityGroups", "DBParameterGroups",
                                         "OptionGroupMemberships", "ReadReplicaDBInstanceIdentifiers",
                                         "StatusInfos", "DomainMemberships",
                                         "AssociatedRoles", "EnabledCloudwatchLogsExports",
                                         "ProcessorFeatures", "DBInstanceAutomatedBackupsReplications",
                                         NULL };
static const char *const rds_bools[] = { "StorageEncrypted", "PubliclyAccessible", "MultiAZ",
                                         NULL };
static const struct vg_aws_xml_opts rds_xml = { .lists = rds_lists, .bools = rds_bools };

struct rds_state {
    const struct vg_aws_ctx *ctx;
};

static enum vg_err set_str_if(struct vg_json *o, const char *key, const char *s)
{
    return s ? vg_json_set_str(o, key, s) : VG_OK;
}

static enum vg_err set_bool_if(struct vg_json *o, const struct vg_json *it, const char *from,
                               const char *key)
{
    if (!vg_json_get(it, from))
        return VG_OK;
    return vg_json_set_bool(o, key, vg_aws_bool(it, from));
}

static enum vg_err on_instances(struct vg_aws_page *pg, void *opaque)
{
    struct rds_state *st = opaque;
    const struct vg_json *list = vg_json_get(pg->json, "DBInstances");
    for (size_t i = 0; i < vg_json_len(list); i++) {
        const struct vg_json *it = vg_json_at(list, i);
        const char *arn = vg_aws_str(it, "DBInstanceArn");
        const char *ident = vg_aws_str(it, "DBInstanceIdentifier");
        char built[512];
        if (!ident)
            continue;
        if (!arn) {
            char res[300];
            snprintf(res, sizeof(res), "db:%s", ident);
            arn = vg_aws_arn(st->ctx, "rds", NULL, res, built, sizeof(built));
        }
        struct vg_resource *r = vg_aws_resource_new(st->ctx, "aws.rds.db-instance", arn, ident,
                                                    "cloud-database", "aws-rds-db-instance",
                                                    "rds", NULL);
        if (!r)
            return VG_ERR_NOMEM;
        struct vg_json *d = r->doc;
        static const char *const strs[][2] = {
            { "DBInstanceIdentifier", "db_instance_identifier" },
            { "Engine", "engine" },
            { "EngineVersion", "engine_version" },
            { "DBInstanceClass", "db_instance_class" },
            { "DBInstanceStatus", "status" },
            { "KmsKeyId", "kms_key_id" },
            { "DBClusterIdentifier", "db_cluster_identifier" },
        };
        enum vg_err err = VG_OK;
        for (size_t k = 0; !err && k < sizeof(strs) / sizeof(strs[0]); k++)
            err = set_str_if(d, strs[k][1], vg_aws_str(it, strs[k][0]));
        if (!err)
            err = set_bool_if(d, it, "StorageEncrypted", "storage_encrypted");
        if (!err)
            err = set_bool_if(d, it, "PubliclyAccessible", "publicly_accessible");
        if (!err)
            err = set_bool_if(d, it, "MultiAZ", "multi_az");
        if (!err)
            err = vg_aws_tags_set(r, vg_json_get(it, "TagList"));
        if (err) {
            vg_resource_destroy(r);
            return err;
        }
        vg_aws_emit(st->ctx, r);
    }
    return vg_aws_next(pg, "Marker");
}

static void on_done(const struct vg_aws_error *err, void *opaque)
{
    struct rds_state *st = opaque;
    if (err)
        vg_aws_list_failed(st->ctx, err);
    free(st);
}

static enum vg_err start_rds(const struct vg_aws_ctx *ctx, char *errbuf, size_t errlen)
{
    struct rds_state *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(errbuf, errlen, "out of memory");
        return VG_ERR_NOMEM;
    }
    st->ctx = ctx;
    static const struct vg_aws_param params[] = { { "MaxRecords", "100" } };
    struct vg_aws_call_spec s = {
        .service = "rds", .protocol = VG_AWS_QUERY, .operation = "DescribeDBInstances",
        .version = "2014-10-31", .params = params, .nparams = 1, .token_param = "Marker",
        .xml = &rds_xml,
    };
    enum vg_err err = vg_aws_call(ctx, &s, on_instances, on_done, st);
    if (err) {
        free(st);
        snprintf(errbuf, errlen, "cannot queue rds:DescribeDBInstances: %s", vg_strerror(err));
    }
    return err;
}

const struct vg_aws_collector vg_aws_rds_instances = {
    .name = "rds-instances", .service = "rds", .global = false, .start = start_rds,
};
