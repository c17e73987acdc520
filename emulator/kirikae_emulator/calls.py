"""A counter of AWS calls at the emulator, per service and operation, with the error codes
answered, so benchmarks and tests can measure what a client really sent (retries included).

    GET    /_kirikae/calls   -> {"total": N, "calls": {"ec2 DeleteVpc": 3, ...},
                                 "errors": {"ec2 DeleteVpc DependencyViolation": 1, ...}}
    DELETE /_kirikae/calls   starts counting again from zero (so does POST /_kirikae/reset)

Services come from the SigV4 credential scope; operations from `Action=`, `X-Amz-Target` or the
RPC v2 path (`/service/<name>/operation/<Operation>`, CloudWatch), and
for REST services without either (S3) from the method and the shape of the path:
`s3 GET /bucket`, `s3 DELETE /bucket/key`, with `?versions`-style sub-resources kept
(`s3 POST /bucket?delete`). Admin paths (`/_kirikae/`, `/moto-api/`) are not counted.
"""

from __future__ import annotations

import re
import threading
from collections import Counter

from . import protocol
from .settings import EmulatorSettings

ADMIN = "/_kirikae/calls"

_lock = threading.Lock()
_calls: Counter = Counter()
_errors: Counter = Counter()

_XML_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_JSON_CODE = re.compile(rb'"__type"\s*:\s*"([^"]+)"')


def clear() -> None:
    with _lock:
        _calls.clear()
        _errors.clear()


def snapshot() -> dict:
    with _lock:
        return {"total": sum(_calls.values()), "calls": dict(_calls), "errors": dict(_errors)}


def _rest_operation(environ) -> str:
    path = environ.get("PATH_INFO", "/")
    parts = [p for p in path.split("/") if p]
    shape = "/" + "/".join(["bucket", "key"][: min(len(parts), 2)]) if parts else "/"
    query = environ.get("QUERY_STRING", "")
    subresources = sorted(q.split("=", 1)[0] for q in query.split("&") if q and "=" not in q or q.endswith("="))
    if subresources:
        shape += "?" + "&".join(s.rstrip("=") for s in subresources)
    return f"{environ.get('REQUEST_METHOD', 'GET')} {shape}"


def _error_code(body: bytes) -> str:
    m = _XML_CODE.search(body) or _JSON_CODE.search(body)
    if not m:
        return "unknown"
    return m.group(1).decode("utf-8", "replace").rsplit("#", 1)[-1]


def _admin(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "GET":
        return protocol.json_response(start_response, 200, snapshot())
    if method == "DELETE":
        clear()
        return protocol.json_response(start_response, 200, snapshot())
    return protocol.json_response(start_response, 405, {"error": "use GET or DELETE"})


def install(settings: EmulatorSettings) -> None:
    settings.on_reset(clear)


def wrap(app, settings: EmulatorSettings):
    def middleware(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == ADMIN:
            return _admin(environ, start_response)
        if path.startswith("/_kirikae/") or path.startswith("/moto-api"):
            return app(environ, start_response)
        req = protocol.parse_request(environ)
        name = f"{(req.service or 'unknown').lower()} {req.operation or _rest_operation(environ)}"
        status: list[int] = []

        def recording_start_response(status_line, headers, exc_info=None):
            try:
                status.append(int(status_line.split(" ", 1)[0]))
            except ValueError:
                status.append(0)
            return start_response(status_line, headers, exc_info)

        body = app(environ, recording_start_response)
        with _lock:
            _calls[name] += 1
        if status and status[0] >= 400:
            chunks = list(body)
            if hasattr(body, "close"):
                body.close()
            code = _error_code(b"".join(chunks))
            with _lock:
                _errors[f"{name} {code}"] += 1
            return chunks
        return body

    return middleware
