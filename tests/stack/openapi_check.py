"""openapi_check.py: check real responses against docs/openapi.yaml (OpenAPI 3.1).

A helper module for the whole-stack suites (not a suite: it is not executable).

    import openapi_check
    openapi_check.validate("GET", "/admin/oauth/clients/{client_id}/tokens",
                           200, headers, body)

raises openapi_check.Mismatch (an AssertionError) listing every difference
between the response and the document; returns None when it matches.

  method         "GET", "HEAD", "DELETE", ...
  path_template  a key of the document's `paths` (see template_for()), or None
                 for a path that is none of them (then the NotFound response)
  status         the HTTP status (int)
  headers        a dict, a list of (name, value) pairs, or anything with
                 .items(); names are matched case-insensitively
  body           bytes, str, None, or an already parsed JSON value

What is checked: that the status is documented for the operation (a method
the path item does not list must be 405, against the MethodNotAllowed response,
with an Allow header naming exactly the path's methods); every documented
header (present when required, exactly once, value valid against its schema);
no header of the document's vocabulary (WWW-Authenticate, Allow, Retry-After,
...) on a response that does not document it; Content-Type equal to a
documented media type; the body valid against its schema (JSON Schema Draft
2020-12, every error listed); an empty body for HEAD.

problems(...) takes the same arguments and returns the list instead of raising.
lint() checks the document itself (references, schemas, examples, path
parameters).  `python3 openapi_check.py [FILE]` runs lint() and exits non-zero
on a problem.

Needs Debian's python3-yaml and python3-jsonschema (4.x: Draft202012Validator).
The document is docs/openapi.yaml of this checkout, or $OPENAPI_DOC.
"""

import json
import os
import re
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DOC_PATH = os.environ.get("OPENAPI_DOC") or os.path.normpath(
    os.path.join(HERE, "..", "..", "docs", "openapi.yaml"))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_DOC = {}


class Mismatch(AssertionError):
    """The response differs from the document; the message lists how."""


def load(path=None):
    """The parsed document (cached per path)."""
    path = path or DOC_PATH
    if path not in _DOC:
        with open(path, encoding="utf-8") as f:
            _DOC[path] = yaml.safe_load(f)
    return _DOC[path]


# ------------------------------------------------------------------ references

def _pointer(doc, ref):
    if not ref.startswith("#/"):
        raise ValueError("only local references are supported: %r" % ref)
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ValueError("unresolvable reference %r" % ref)
    return node


def resolve(node, doc=None, _stack=()):
    """A copy of node with every local $ref replaced by what it names.

    Siblings of a $ref (allowed in 3.1) are kept: descriptive ones are merged,
    others wrap the target as {"allOf": [target], ...siblings}."""
    doc = doc if doc is not None else load()
    if isinstance(node, list):
        return [resolve(v, doc, _stack) for v in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and isinstance(node["$ref"], str):
        ref = node["$ref"]
        if ref in _stack:
            raise ValueError("reference cycle through %r" % ref)
        target = resolve(_pointer(doc, ref), doc, _stack + (ref,))
        siblings = {k: resolve(v, doc, _stack) for k, v in node.items() if k != "$ref"}
        if not siblings:
            return target
        if all(k in ("description", "summary", "example", "examples") for k in siblings):
            merged = dict(target) if isinstance(target, dict) else target
            if isinstance(merged, dict):
                merged.update(siblings)
            return merged
        siblings["allOf"] = [target] + siblings.get("allOf", [])
        return siblings
    return {k: resolve(v, doc, _stack) for k, v in node.items()}


# ------------------------------------------------------------------ helpers

def _validator(schema):
    cls = jsonschema.Draft202012Validator
    checker = getattr(cls, "FORMAT_CHECKER", None) or jsonschema.FormatChecker()
    return cls(schema, format_checker=checker)


def _schema_errors(schema, value, where):
    out = []
    for e in sorted(_validator(schema).iter_errors(value), key=lambda e: list(e.path)):
        at = "/".join(str(p) for p in e.absolute_path)
        out.append("%s%s: %s" % (where, (" at /" + at) if at else "", e.message))
    return out


def _headers(headers):
    """name (lower case) -> list of values."""
    out = {}
    if headers is None:
        return out
    items = headers.items() if hasattr(headers, "items") else headers
    for name, value in items:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, (list, tuple)):
            out.setdefault(name.lower(), []).extend(str(v) for v in value)
        else:
            out.setdefault(name.lower(), []).append(str(value))
    return out


def _media(ctype):
    """'Application/JSON ;charset=UTF-8' -> 'application/json; charset=utf-8'."""
    parts = [p.strip().lower() for p in ctype.split(";")]
    return "; ".join(p for p in parts if p)


def _header_value(schema, raw):
    """The header text as the value its schema describes (integers)."""
    types = schema.get("type") if isinstance(schema, dict) else None
    if types == "integer" and re.fullmatch(r"[0-9]+", raw):
        return int(raw)
    return raw


def _vocabulary(doc):
    """Every header name any response documents (lower case)."""
    names = set()
    for resp in (doc.get("components", {}).get("responses") or {}).values():
        names.update(n.lower() for n in (resp.get("headers") or {}))
    for item in (doc.get("paths") or {}).values():
        for m in HTTP_METHODS:
            for resp in ((item.get(m) or {}).get("responses") or {}).values():
                names.update(n.lower() for n in (resp.get("headers") or {}))
    return names


def template_for(path, doc=None):
    """The `paths` key that a concrete path (no query) matches, or None."""
    doc = doc or load()
    for template in doc.get("paths") or {}:
        rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(rx, path):
            return template
    return None


def _pick_response(doc, method, path_template, status, hdrs, out):
    """The response object that should describe this answer, or None."""
    responses = doc.get("components", {}).get("responses", {})
    if path_template is None:
        if status != 404:
            out.append("a path outside the document must be answered 404, not %s" % status)
        return responses.get("NotFound")
    item = (doc.get("paths") or {}).get(path_template)
    if item is None:
        out.append("path %r is not in the document" % path_template)
        return None
    op = item.get(method.lower())
    if op is None:
        allowed = [m.upper() for m in HTTP_METHODS if m in item]
        if status != 405:
            out.append("%s is not an operation of %s (it serves %s): expected 405, got %s"
                       % (method, path_template, ", ".join(allowed), status))
        allow = hdrs.get("allow", [])
        if len(allow) == 1:
            got = [m.strip().upper() for m in allow[0].split(",") if m.strip()]
            if sorted(got) != sorted(allowed) or len(set(got)) != len(got):
                out.append("Allow: %r, but the path serves %s" % (allow[0], ", ".join(allowed)))
        return responses.get("MethodNotAllowed")
    responses_of_op = op.get("responses") or {}
    resp = (responses_of_op.get(str(status))
            or responses_of_op.get("%dXX" % (status // 100))
            or responses_of_op.get("default"))
    if resp is None:
        out.append("status %s is not documented for %s %s (documented: %s)"
                   % (status, method, path_template, ", ".join(sorted(responses_of_op))))
    return resp


# ------------------------------------------------------------------ the checks

def problems(method, path_template, status, headers, body, doc=None):
    """Every way the response differs from the document (empty list: none)."""
    doc = doc or load()
    method = method.upper()
    status = int(status)
    hdrs = _headers(headers)
    out = []

    resp = _pick_response(doc, method, path_template, status, hdrs, out)
    if resp is None:
        return out
    resp = resolve(resp, doc)
    what = "%s %s -> %s" % (method, path_template or "(no such path)", status)

    documented = {n.lower(): h for n, h in (resp.get("headers") or {}).items()}
    for name, h in documented.items():
        values = hdrs.get(name, [])
        if not values:
            if h.get("required"):
                out.append("%s: header %s is missing" % (what, name))
            continue
        if len(values) > 1:
            out.append("%s: header %s is sent %d times: %r" % (what, name, len(values), values))
        schema = h.get("schema")
        if schema is not None:
            out += _schema_errors(schema, _header_value(schema, values[0]),
                                  "%s: header %s %r" % (what, name, values[0]))
    for name in sorted(_vocabulary(doc) - set(documented)):
        if name in hdrs:
            out.append("%s: header %s is not documented for this response (got %r)"
                       % (what, name, hdrs[name]))

    content = resp.get("content") or {}
    if isinstance(body, str):
        body = body.encode("utf-8")
    empty = body is None or body == b""
    if not content:
        if not empty:
            out.append("%s: a body, but the response documents none" % what)
        return out
    ctypes = hdrs.get("content-type", [])
    if len(ctypes) != 1:
        out.append("%s: want one Content-Type, got %r" % (what, ctypes))
        return out
    media = {_media(k): v for k, v in content.items()}
    chosen = media.get(_media(ctypes[0]))
    if chosen is None:
        out.append("%s: Content-Type %r is not documented (%s)"
                   % (what, ctypes[0], ", ".join(content)))
        return out
    if method == "HEAD":
        if not empty:
            out.append("%s: HEAD response with a body of %d bytes" % (what, len(body)))
        return out
    if isinstance(body, (bytes, bytearray)):
        if empty:
            out.append("%s: empty body" % what)
            return out
        try:
            value = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            out.append("%s: body is not JSON (%s): %r" % (what, e, body[:200]))
            return out
    else:
        value = body
    if "schema" in chosen:
        out += _schema_errors(chosen["schema"], value, "%s: body" % what)
    return out


def validate(method, path_template, status, headers, body, doc=None):
    """Raise Mismatch listing every difference; None when the response matches."""
    found = problems(method, path_template, status, headers, body, doc)
    if found:
        raise Mismatch("response differs from docs/openapi.yaml:\n  " + "\n  ".join(found))


# ------------------------------------------------------------------ the document itself

def lint(doc=None):
    """Problems of the document: version, references, schemas, examples, path parameters."""
    doc = doc or load()
    out = []
    if not str(doc.get("openapi", "")).startswith("3.1."):
        out.append("openapi: want 3.1.x, got %r" % doc.get("openapi"))
    for key in ("info", "paths", "components"):
        if key not in doc:
            out.append("missing top-level %s" % key)
    try:
        full = resolve(doc, doc)
    except ValueError as e:
        return out + [str(e)]

    def check_schema(schema, where):
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            out.append("%s: invalid schema: %s" % (where, e.message))
            return False
        return True

    for name, schema in (full.get("components", {}).get("schemas") or {}).items():
        where = "components/schemas/%s" % name
        if check_schema(schema, where):
            for ex in ([schema["example"]] if "example" in schema else []) + list(
                    schema.get("examples") or []):
                out += _schema_errors(schema, ex, where + " example")
    for name, h in (full.get("components", {}).get("headers") or {}).items():
        check_schema(h.get("schema", {}), "components/headers/%s" % name)

    operation_ids = set()
    for template, item in (full.get("paths") or {}).items():
        names = set(re.findall(r"\{([^/}]+)\}", template))
        for m in HTTP_METHODS:
            op = item.get(m)
            if op is None:
                continue
            where = "%s %s" % (m.upper(), template)
            oid = op.get("operationId")
            if not oid or oid in operation_ids:
                out.append("%s: missing or duplicate operationId %r" % (where, oid))
            operation_ids.add(oid)
            params = list(item.get("parameters") or []) + list(op.get("parameters") or [])
            declared = {p["name"] for p in params if p.get("in") == "path"}
            if declared != names:
                out.append("%s: path parameters %s, template has %s"
                           % (where, sorted(declared), sorted(names)))
            for p in params:
                if p.get("in") == "path" and not p.get("required"):
                    out.append("%s: path parameter %s must be required" % (where, p["name"]))
                check_schema(p.get("schema", {}), "%s parameter %s" % (where, p.get("name")))
                if "default" in p.get("schema", {}):
                    out += _schema_errors(p["schema"], p["schema"]["default"],
                                          "%s parameter %s default" % (where, p.get("name")))
            if not op.get("responses"):
                out.append("%s: no responses" % where)
            for status, resp in (op.get("responses") or {}).items():
                if not resp.get("description"):
                    out.append("%s %s: response without description" % (where, status))
                for mt, media in (resp.get("content") or {}).items():
                    rwhere = "%s %s %s" % (where, status, mt)
                    if "schema" in media and check_schema(media["schema"], rwhere):
                        if "example" in media:
                            out += _schema_errors(media["schema"], media["example"],
                                                  rwhere + " example")
                        if re.fullmatch(r"[0-9]{3}", str(status)):
                            out += _schema_errors(
                                media["schema"],
                                {"code": int(status), "message": "x",
                                 "timestamp": "2026-01-01T00:00:00Z"},
                                rwhere + " (an error body)") if int(status) >= 400 else []
    schemes = full.get("components", {}).get("securitySchemes") or {}
    for req in full.get("security") or []:
        for name in req:
            if name not in schemes:
                out.append("security requirement %r names no security scheme" % name)
    return out


if __name__ == "__main__":
    found = lint(load(sys.argv[1] if len(sys.argv) > 1 else None))
    for p in found:
        print(p)
    print("%s: %d problem%s" % (sys.argv[1] if len(sys.argv) > 1 else DOC_PATH,
                                len(found), "" if len(found) == 1 else "s"))
    sys.exit(1 if found else 0)
