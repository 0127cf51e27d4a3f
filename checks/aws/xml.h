/*
 * AWS XML answers (query, ec2 and rest-xml protocols) as JSON values, the
 * currency rules read. Parsed with expat.
 *
 * The conversion, element by element (names without their namespace
 * prefix; attributes dropped):
 *   - no child elements: its text, as a string ("" when empty); a name in
 *     opts->bools whose text is "true"/"false" becomes a JSON bool, a name
 *     in opts->ints whose text is a whole integer a JSON integer;
 *   - a name in opts->lists: an array of its children's values, whatever
 *     their names, [] when it has none ("list wrappers": <Users/> is an
 *     empty list, <Buckets><Bucket>..</Bucket></Buckets> a list);
 *   - children all named <member> (query) or all named <item> (ec2): an
 *     array of their values, so <Users><member>A</member></Users> is
 *     "Users": [A];
 *   - children all <entry> with <key> and <value> (query maps such as
 *     GetAccountSummary's SummaryMap): an object {key: value};
 *   - otherwise an object: one key per child name, in document order; a
 *     name that repeats, or is in opts->arrays (rest-xml's flattened lists:
 *     S3's <Rule>), is an array of the values in order.
 * Text beside child elements (mixed content) is ignored: AWS sends none.
 *
 * The result is the root element's value, or with opts->unwrap the value
 * of that child of the root (query answers: "ListUsersResult" inside
 * <ListUsersResponse>).
 *
 *   <ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
 *     <ListUsersResult>
 *       <IsTruncated>false</IsTruncated>
 *       <Users><member><UserName>alice</UserName></member></Users>
 *     </ListUsersResult>
 *   </ListUsersResponse>
 *   unwrap "ListUsersResult" -> {"IsTruncated":"false","Users":[{"UserName":"alice"}]}
 *
 * Hostile input: a DOCTYPE is refused (so no entity can be declared);
 * depth, element count, children per element, name length and size are
 * bounded (aws.h). Truncated or malformed XML is an error, never a partial
 * document: "XML error at line L column C: ...".
 */
#ifndef VG_AWS_XML_H
#define VG_AWS_XML_H

#include "../../agent/err.h"
#include "../../agent/json.h"
#include "aws.h"

#include <stddef.h>

/* Hints for one answer shape; every list NULL-terminated, every pointer
 * borrowed for the call (static const tables in the collectors). Any of
 * them may be NULL. */
struct vg_aws_xml_opts {
    const char *const *lists;    /* wrappers whose value is always an array */
    const char *const *arrays;   /* elements that are always arrays in their parent */
    const char *const *bools;    /* elements with true/false text */
    const char *const *ints;     /* elements with integer text */
    const char *unwrap;          /* the root's child to return instead of the root */
};

/* Converts the XML document xml[0..len) as above. Returns the value
 * (caller frees with vg_json_free()), or NULL with a one-line sentence in
 * errbuf. root, when not NULL, receives the root element's name (truncated
 * to rootlen). opts may be NULL. */
struct vg_json *vg_aws_xml_parse(const char *xml, size_t len, const struct vg_aws_xml_opts *opts,
                                 char *root, size_t rootlen, char *errbuf, size_t errlen);

/* Reads an AWS XML error document into e->code, e->message and
 * e->request_id (the rest of e untouched):
 *   query:  <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>
 *           (also <ErrorResponse><Errors><Error>..., as moto writes it)
 *   ec2:    <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
 *   S3:     <Error><Code/><Message/><RequestId/></Error>
 * Returns VG_OK, or VG_ERR_PARSE when xml is not such a document. */
enum vg_err vg_aws_xml_error(const char *xml, size_t len, struct vg_aws_error *e);

#endif
