/*
 * IAM's credential report: GetCredentialReport's Content is base64 of a
 * CSV file, one header line and one row per user (the first, for the
 * account's root user, named "<root_account>"):
 *
 *   user,arn,user_creation_time,password_enabled,password_last_used,...
 *   <root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,...
 *
 * Fields are RFC 4180 (a field may be quoted, "" inside quotes is one ");
 * lines end with \n or \r\n.
 */
#ifndef VG_AWS_IAM_H
#define VG_AWS_IAM_H

#include "../../agent/err.h"
#include "../../agent/json.h"

#include <stddef.h>

#define VG_AWS_MAX_CREDENTIAL_REPORT (64u << 20)   /* decoded report */
#define VG_AWS_MAX_REPORT_COLUMNS    64

/* Decodes b64 (whitespace ignored) and parses the CSV into an object: user
 * name -> {column: value, ...} (every value a string, as written). Returns
 * the object (caller frees with vg_json_free()), or NULL with a one-line
 * sentence in errbuf ("credential report: line 3 has 21 fields, the header
 * 22"; "credential report: bad base64"; "credential report: no user
 * column"). A user that appears twice is an error. */
struct vg_json *vg_aws_credential_report_parse(const char *b64, size_t len, char *errbuf,
                                               size_t errlen);

#endif
