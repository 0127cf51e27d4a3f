/* Fuzz target: IAM policy documents (plain or URL-encoded JSON) and the
 * analyses run on them, and the credential report (base64 CSV). A
 * document that parses must pass every analysis without a crash; every
 * failure is one line that names the document or the report. */
#include "agent/json.h"
#include "checks/aws/iam.h"
#include "checks/aws/policy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[512] = "";
    struct vg_json *d = vg_aws_policy_parse(text, size, err, sizeof(err));
    if (!d) {
        if (strncmp(err, "policy document: ", 17) != 0 || strchr(err, '\n'))
            abort();
    } else {
        struct vg_aws_policy_report rep;
        vg_aws_policy_analyse(d, &rep);
        if (rep.admin && !rep.admin_statement[0])
            abort();   /* a verdict always names its statement */
        if (strlen(rep.escalations) >= sizeof(rep.escalations))
            abort();
        char why[300];
        vg_aws_policy_denies_http(d, "aws", "bucket", why, sizeof(why));
        vg_aws_policy_allows(d, "iam:PassRole", NULL, why, sizeof(why));
        vg_aws_policy_allows(d, "s3:GetObject", "arn:aws:s3:::bucket/key", NULL, 0);
        vg_json_free(d);
    }
    /* the same bytes as a credential report's Content */
    struct vg_json *r = vg_aws_credential_report_parse(text, size, err, sizeof(err));
    if (!r && (strncmp(err, "credential report: ", 19) != 0 || strchr(err, '\n')))
        abort();
    vg_json_free(r);
    return 0;
}
