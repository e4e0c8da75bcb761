#!/usr/bin/env python3
"""json_refusals.py: the web server's own refusals must be SimpleResponse JSON.

    json_refusals.py BASE_URL [CASE...]

Sends each case over a raw socket (no HTTP library tidies the request up) to
the front end at BASE_URL (http://127.0.0.1:PORT) and checks the answer: a
status from the case's allowed set (which front end refuses a request, and
with what status, differs; each set is what some layer may rightly answer),
Content-Type application/json, and a body that parses as a SimpleResponse
({"code", "message", "timestamp"}) whose code is the status.  Cases that must
reach the program (a 10 kB bearer token, 16 KiB of headers) must get its
own 401 with error="invalid_token".  An answer the program wrote (it carries
X-Request-Id) must carry a timestamp; a static document may lack one.

Prints "PASS: ..." or "FAIL: ..." per case (what came back, in one line) and
ends with "N passed, N failed"; exit status 1 when a case failed.  The front-end
stages (tests/frontends/lib.sh, fe_check_json_refusals) count those lines.
CASE names run a subset (e.g. "no-worker" alone, after a kill -9).
"""

import json
import os
import re
import socket
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stack"))
sys.dont_write_bytecode = True
from stacklib import dechunk  # noqa: E402  (the one HTTP de-chunker of the tests)

API = "/admin/oauth/clients/json_refusal_probe/tokens"
TOKEN_AUTH = "Bearer " + "t" * 10240          # a 10 kB signed-JWT-sized token
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def request(method, target, headers=(), body=b"", host=b"127.0.0.1"):
    """The bytes of one HTTP/1.1 request; Connection: close ends every answer."""
    lines = [b"%s %s HTTP/1.1" % (method, target)]
    if host:
        lines.append(b"Host: " + host)
    lines += [h if isinstance(h, bytes) else h.encode() for h in headers]
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# name, request bytes (a function of "host:port"), allowed statuses, must the
# program answer (its 401 for an unknown token)?
def cases(hostport):
    b = hostport.encode()
    long_path = API.encode() + b"/" + b"x" * 70000
    many_headers = ["X-Filler-%d: %s" % (i, "f" * 1000) for i in range(15)]
    huge_header = "X-Filler: " + "f" * 70000
    return [
        ("bearer-10k", request(b"GET", API.encode(), ["Authorization: " + TOKEN_AUTH]),
         {401}, True),
        ("headers-16k", request(b"GET", API.encode(),
                                ["Authorization: Bearer json-refusal-unknown"] + many_headers),
         {401}, True),
        ("pct00-in-path", request(b"GET", b"/admin/oauth/clients/a%00b/tokens"),
         {400, 401, 404}, False),
        ("pct-control-in-path", request(b"GET", b"/admin/oauth/clients/a%01%1fb/tokens"),
         {400, 401, 404}, False),
        ("raw-control-in-path", request(b"GET", b"/admin/oauth/clients/a\x01b/tokens"),
         {400}, False),
        ("overlong-c0af", request(b"GET", b"/admin/oauth/clients/%c0%af/tokens"),
         {400, 401, 404}, False),
        ("absolute-form-uri", request(b"GET", b"http://" + b + API.encode(), host=b),
         {400, 401}, False),
        ("post-without-length", request(b"POST", API.encode()),
         {405, 411}, False),
        ("lowercase-method", request(b"get", API.encode()),
         {400, 405, 501}, False),
        ("unknown-method", request(b"BREW", API.encode()),
         {400, 405, 501}, False),
        ("outside-api", request(b"GET", b"/no-such-page"),
         {403, 404}, False),
        ("method-outside-api", request(b"DELETE", b"/no-such-page"),
         {403, 404, 405, 501}, False),
        ("body-too-large", request(b"POST", API.encode(), ["Content-Length: 10000000"]),
         {413}, False),
        ("uri-too-long", request(b"GET", long_path),
         {414, 431, 400}, False),
        ("header-too-large", request(b"GET", API.encode(), [huge_header]),
         {400, 431}, False),
        ("bad-header-line", request(b"GET", API.encode(), [b"No colon here"]),
         {400}, False),
        ("http10-no-host", request(b"GET", b"/no-such-page", host=None).replace(
            b"HTTP/1.1", b"HTTP/1.0", 1), {403, 404}, False),
        ("no-worker", request(b"GET", API.encode(), ["Authorization: Bearer x"]),
         {502, 503, 504}, False),
    ]


def exchange(hostport, data, timeout=15):
    host, port = hostport.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server may answer and close before reading everything
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except ConnectionResetError:
                break
            if not c:
                break
            chunks.append(c)
    return b"".join(chunks)


def parse(raw):
    """(status, {lower-case header: value}, body) of one HTTP/1.x answer."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no complete answer: %r" % raw[:200])
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        raise ValueError("no status line: %r" % lines[0][:200])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
        body = dechunk(body)
    return int(m.group(1)), headers, body


def check(name, raw, allowed, program):
    """None when the answer is right, else why not."""
    status, headers, body = parse(raw)
    ctype = headers.get("content-type", [])
    got = "status %d, Content-Type %s, body %s" % (
        status, "; ".join(ctype) or "none",
        " ".join(body[:160].decode("utf-8", "replace").split()))
    if status not in allowed:
        return got, "status %d not in %s" % (status, sorted(allowed))
    if len(ctype) != 1 or not ctype[0].lower().startswith("application/json"):
        return got, "Content-Type is not application/json"
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return got, "body is not JSON (%s)" % e
    if not isinstance(doc, dict) or doc.get("code") != status:
        return got, "body's code is not %d" % status
    if not isinstance(doc.get("message"), str) or not doc["message"]:
        return got, "no message"
    if "timestamp" in doc and not (isinstance(doc["timestamp"], str)
                                   and RFC3339.match(doc["timestamp"])):
        return got, "timestamp %r is not RFC 3339" % doc["timestamp"]
    if headers.get("x-request-id") and "timestamp" not in doc:
        return got, "written by the program (X-Request-Id) but without a timestamp"
    clen = headers.get("content-length")
    if clen and int(clen[-1]) != len(body):
        return got, "Content-Length %s but %d bytes of body" % (clen[-1], len(body))
    if program:
        auth = " ".join(headers.get("www-authenticate", []))
        if 'error="invalid_token"' not in auth:
            return got, "not the program's answer (no error=\"invalid_token\")"
    return got, None


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    hostport = urllib.parse.urlsplit(argv[1]).netloc
    wanted = set(argv[2:])
    passed = failed = 0
    for name, data, allowed, program in cases(hostport):
        if wanted and name not in wanted or not wanted and name == "no-worker":
            continue
        try:
            got, why = check(name, exchange(hostport, data), allowed, program)
        except (OSError, ValueError) as e:
            got, why = "no answer", "%s: %s" % (type(e).__name__, e)
        if why is None:
            passed += 1
            print("PASS: JSON refusal %s: %s" % (name, got), flush=True)
        else:
            failed += 1
            print("FAIL: JSON refusal %s: %s: %s" % (name, why, got), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
