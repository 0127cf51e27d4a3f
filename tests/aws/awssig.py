"""SigV4 verification for the AWS test servers (standard library only).

An implementation independent of the C signer: it rebuilds the canonical
request from what arrived on the wire, the way botocore builds it, and
compares signatures. Used by cred_server.py (STS AssumeRole) and
fault_server.py (every request).
"""

import hashlib
import hmac
import re
from urllib.parse import quote, unquote

_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;._-]+), Signature=([0-9a-f]{64})$")


def _remove_dot_segments(path):
    if not path:
        return ""
    out = []
    for seg in path.split("/"):
        if seg and seg != ".":
            if seg == "..":
                if out:
                    out.pop()
            else:
                out.append(seg)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and out else ""
    return first + "/".join(out) + last


def _canonical_query(query):
    pairs = []
    if query:
        for part in query.split("&"):
            if not part:
                continue
            name, eq, value = part.partition("=")
            pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def verify(method, target, headers, body, secrets):
    """Checks the SigV4 Authorization of one request.

    target: the raw request target (path?query); headers: a list of
    (name, value) pairs as received; body: bytes; secrets: access key id ->
    secret key. Returns (ok, code, message, info) where info holds the
    access key id, region and service of the credential scope.
    """
    hmap = {}
    for name, value in headers:
        hmap.setdefault(name.lower(), []).append(value)
    auth = (hmap.get("authorization") or [""])[0]
    m = _AUTH_RE.match(auth)
    if not m:
        return False, "IncompleteSignature", "no SigV4 Authorization header", {}
    akid, date, region, service, signed, signature = m.groups()
    info = {"akid": akid, "region": region, "service": service}
    if akid not in secrets:
        return False, "InvalidClientTokenId", "The security token included in the request is invalid.", info
    amz_date = (hmap.get("x-amz-date") or [""])[0]
    if not amz_date.startswith(date):
        return False, "SignatureDoesNotMatch", "X-Amz-Date does not match the credential scope", info
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names:
        return False, "SignatureDoesNotMatch", "host and x-amz-date must be signed", info
    if names != sorted(names):
        return False, "SignatureDoesNotMatch", "SignedHeaders are not sorted", info
    payload = hashlib.sha256(body).hexdigest()
    if service == "s3":
        sent = (hmap.get("x-amz-content-sha256") or [""])[0]
        if sent != payload or "x-amz-content-sha256" not in names:
            return False, "XAmzContentSHA256Mismatch", "x-amz-content-sha256 missing, unsigned or wrong", info
    if "x-amz-security-token" in hmap and "x-amz-security-token" not in names:
        return False, "SignatureDoesNotMatch", "the session token is not signed", info
    path, _, query = target.partition("?")
    if service == "s3":
        cpath = path or "/"
    else:
        cpath = quote(_remove_dot_segments(path) or "/", safe="/~")
    lines = []
    for n in names:
        if n not in hmap:
            return False, "SignatureDoesNotMatch", "signed header %s is missing" % n, info
        vals = [" ".join(v.split()) for v in hmap[n]]
        lines.append("%s:%s\n" % (n, ",".join(vals)))
    creq = "\n".join([method, cpath, _canonical_query(query), "".join(lines), signed, payload])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, "%s/%s/%s/aws4_request" % (date, region, service),
                     hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    key = _hmac(("AWS4" + secrets[akid]).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    key = _hmac(key, "aws4_request")
    want = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature):
        return False, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.", info
    return True, "", "", info
