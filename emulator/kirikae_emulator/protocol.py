"""Small helpers for the WSGI middlewares: what an AWS request is (service, operation, access
key, protocol) and how to answer it with an error in that protocol's own format."""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")
_V2_KEY = re.compile(r"^AWS ([^:\s]+):")
_RPC_V2_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")

_STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class AwsRequest:
    service: str | None  # from the SigV4 credential scope, e.g. "sts", "rds"
    region: str | None
    operation: str | None  # Action=..., the X-Amz-Target suffix (JSON) or the RPC v2 path's last part
    access_key: str | None
    session_token: str | None
    json_protocol: bool


def _body(environ) -> bytes:
    """Reads the request body and puts it back, so the wrapped app still sees it."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    data = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(data)
    return data


def parse_request(environ, read_body: bool = True) -> AwsRequest:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    service = region = access_key = None
    m = _CREDENTIAL.search(auth)
    if m:
        access_key, _, region, service = m.groups()
    elif "X-Amz-Credential" in query:  # a presigned URL
        parts = query["X-Amz-Credential"][0].split("/")
        if len(parts) >= 4:
            access_key, region, service = parts[0], parts[2], parts[3]
    else:
        m2 = _V2_KEY.match(auth)
        if m2:
            access_key = m2.group(1)
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN") or (query.get("X-Amz-Security-Token") or [None])[0]

    target = environ.get("HTTP_X_AMZ_TARGET")
    operation = None
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif "Action" in query:
        operation = query["Action"][0]
    elif _RPC_V2_PATH.match(environ.get("PATH_INFO", "")):  # Smithy RPC v2 CBOR (CloudWatch)
        operation = _RPC_V2_PATH.match(environ.get("PATH_INFO", "")).group(1)
    elif read_body and environ.get("REQUEST_METHOD") == "POST" and "x-www-form-urlencoded" in environ.get(
        "CONTENT_TYPE", ""
    ):
        form = parse_qs(_body(environ).decode("utf-8", "replace"))
        if "Action" in form:
            operation = form["Action"][0]
    return AwsRequest(service, region, operation, access_key, token, bool(target))


def error_response(start_response, req: AwsRequest, status: int, code: str, message: str, fault: str = "Sender"):
    """Answers with an AWS error in the request's protocol; returns the WSGI body iterable."""
    request_id = str(uuid.uuid4())
    if req.json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
            # services that are "awsQueryCompatible" (e.g. SQS) read the code from here
            ("x-amzn-query-error", f"{code};{fault}"),
        ]
    else:
        body = (
            "<ErrorResponse><Error>"
            f"<Type>{fault}</Type><Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {_STATUS_TEXT.get(status, 'Error')}", headers)
    return [body]


def json_response(start_response, status: int, payload) -> list[bytes]:
    body = json.dumps(payload, indent=1, default=str).encode()
    start_response(
        f"{status} {_STATUS_TEXT.get(status, 'Error')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def read_json(environ) -> dict:
    data = _body(environ)
    if not data.strip():
        return {}
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
