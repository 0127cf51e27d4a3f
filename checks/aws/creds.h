/*
 * AWS credentials, found the way the AWS SDKs find them (botocore's
 * default chain, in its order), and STS AssumeRole into scanned accounts.
 *
 * The chain, first source that answers wins:
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SESSION_TOKEN (AWS_CREDENTIAL_EXPIRATION when set). Skipped
 *      when the configuration names a profile (as an explicit profile
 *      does in the SDKs).
 *   2. the profile (opts->profile, else AWS_PROFILE, else "default") with
 *      role_arn: AssumeRole from source_profile (chains followed, at most
 *      VG_AWS_MAX_ROLE_CHAIN hops, loops refused) or from
 *      credential_source (Environment, Ec2InstanceMetadata, EcsContainer),
 *      with external_id, role_session_name, duration_seconds; or
 *      AssumeRoleWithWebIdentity when the profile has
 *      web_identity_token_file.
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN
 *      (AWS_ROLE_SESSION_NAME): STS AssumeRoleWithWebIdentity, unsigned.
 *   4. the profile's static keys: aws_access_key_id, aws_secret_access_key,
 *      aws_session_token, from the shared credentials file
 *      (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials, [name]
 *      sections), then the config file (AWS_CONFIG_FILE, else
 *      ~/.aws/config, [default] and [profile name] sections).
 *      credential_process is not supported (Vigil runs no commands) and
 *      SSO profiles are not either: both are logged and skipped.
 *   5. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI against
 *      http://169.254.170.2 (opts->container_base for tests), or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI (loopback, the ECS/EKS link-local
 *      addresses, or https), with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN as the Authorization header.
 *   6. EC2 instance metadata, IMDSv2 only: PUT /latest/api/token
 *      (X-aws-ec2-metadata-token-ttl-seconds), then GET
 *      /latest/meta-data/iam/security-credentials/ and .../<role> with the
 *      token. Endpoint: opts->imds_endpoint, AWS_EC2_METADATA_SERVICE_ENDPOINT,
 *      else http://169.254.169.254. AWS_EC2_METADATA_DISABLED=true skips it.
 * The chain remembers the source that answered and asks it again when the
 * credentials come within refresh_margin_ms (5 minutes) of their
 * Expiration. A refresh that fails while the old credentials are still
 * valid keeps them, with a warning. When every source fails the error
 * lists each one and why.
 *
 * STS is reached at opts->endpoint_url when set (moto, LocalStack, tests),
 * else https://sts.REGION.amazonaws.com. Secrets are never logged; the
 * structs below are wiped when freed.
 */
#ifndef VG_AWS_CREDS_H
#define VG_AWS_CREDS_H

#include "../../agent/err.h"
#include "../../agent/json.h"
#include "aws.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vg_aws_creds {
    char access_key_id[VG_AWS_MAX_KEY_ID];
    char secret_access_key[VG_AWS_MAX_SECRET];
    char session_token[VG_AWS_MAX_SESSION_TOKEN];   /* "" when none */
    int64_t expires_ms;       /* wall clock, ms since the epoch; 0: never */
    char source[160];         /* "environment", "profile audit", "web identity", ... */
};

/* Wall clock in ms since the epoch; tests move it to force refreshes. */
typedef int64_t (vg_aws_clock_fn)(void *opaque);

/* Everything borrowed for the call; the provider copies what it keeps. */
struct vg_aws_creds_opts {
    const char *profile;          /* explicit profile; NULL: AWS_PROFILE, else "default" */
    const char *region;           /* for STS; NULL: AWS_REGION, AWS_DEFAULT_REGION, the
                                   * profile's region, else us-east-1 */
    const char *endpoint_url;     /* STS endpoint override */
    const char *container_base;   /* NULL: http://169.254.170.2 */
    const char *imds_endpoint;    /* NULL: see above */
    int64_t timeout_ms;           /* per HTTP request; 0: 5000 (IMDS: 1000 unless set) */
    int64_t refresh_margin_ms;    /* 0: 300000 */
    vg_aws_clock_fn *clock;       /* NULL: vg_time_now_ms() */
    void *clock_opaque;
};

struct vg_aws_creds_provider;

/* The SDK default chain. Nothing is fetched until the first
 * vg_aws_creds_get(). Returns NULL when out of memory. Caller frees with
 * vg_aws_creds_destroy(). */
struct vg_aws_creds_provider *vg_aws_creds_chain_new(const struct vg_aws_creds_opts *o);

/* Fixed credentials (tests, or keys the caller already holds). token may
 * be NULL. Caller frees with vg_aws_creds_destroy(). */
struct vg_aws_creds_provider *vg_aws_creds_static_new(const char *access_key_id,
                                                      const char *secret_access_key,
                                                      const char *session_token);

/* One scanned account's role. Strings borrowed for the call. */
struct vg_aws_assume_role {
    const char *role_arn;         /* required */
    const char *external_id;      /* NULL: none */
    const char *session_name;     /* NULL: "vigil-<unix time>" */
    int duration_s;               /* 0: STS's default (3600) */
};

/* STS AssumeRole, signed with the credentials of source (borrowed: it
 * must outlive the new provider), refreshed before expiry. o may be NULL
 * (defaults; region from the environment). Caller frees with
 * vg_aws_creds_destroy(). NULL when out of memory or role_arn is empty. */
struct vg_aws_creds_provider *vg_aws_creds_assume_role_new(struct vg_aws_creds_provider *source,
                                                           const struct vg_aws_assume_role *ar,
                                                           const struct vg_aws_creds_opts *o);

/* Current credentials, fetched or refreshed as needed. *out is borrowed,
 * valid until the next call on p. VG_ERR_PERM (no source answered, or the
 * answer was refused: "AssumeRole arn:... refused: AccessDenied: ..."),
 * VG_ERR_CONFIG (a profile that does not exist or cannot work),
 * VG_ERR_IO, VG_ERR_NOMEM, with a sentence in errbuf. */
enum vg_err vg_aws_creds_get(struct vg_aws_creds_provider *p, const struct vg_aws_creds **out,
                             char *errbuf, size_t errlen);

/* Forgets the current credentials so the next get fetches new ones
 * (after an ExpiredToken answer). */
void vg_aws_creds_invalidate(struct vg_aws_creds_provider *p);

/* True when p can fetch new credentials (not static ones). */
bool vg_aws_creds_refreshable(const struct vg_aws_creds_provider *p);

void vg_aws_creds_destroy(struct vg_aws_creds_provider *p);   /* NULL is a no-op */

/* Parses an INI file of the shared credentials/config format into an
 * object {profile: {key: value}}. config selects the config file's
 * section names ("[profile x]", "[default]"); otherwise "[x]". Comment
 * lines start with '#' or ';'; indented lines under "key =" (nested
 * settings such as s3) are skipped. Returns the object (caller frees with
 * vg_json_free()), or NULL with "FILE:LINE: ..." in errbuf. */
struct vg_json *vg_aws_ini_parse(const char *text, size_t len, const char *file, bool config,
                                 char *errbuf, size_t errlen);

#endif
