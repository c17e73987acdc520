"""CloudWatch in the Smithy RPC v2 CBOR protocol, which the AWS SDKs for Rust (aws-sdk-cloudwatch
1.100 and later) speak and moto 5.2.5 does not (it answers 404 to `POST /service/.../operation/X`).

A WSGI middleware translates: the CBOR request becomes the same operation in the query protocol
(which moto serves), and moto's XML answer becomes a CBOR answer (an error: `__type` and the
`x-amzn-query-error` header, as AWS sends to query-compatible clients). botocore's own CBOR
decoder, query serializer, XML parser and CBOR encoder do the work, driven by botocore's
CloudWatch model, so every operation moto has is covered. Nothing else changes.
"""

from __future__ import annotations

import io
import re
import uuid
from urllib.parse import urlencode

from .settings import EmulatorSettings

_PATH = re.compile(r"^/service/GraniteServiceVersion20100801/operation/([A-Za-z]+)$")
_model = None


def _service_model():
    global _model
    if _model is None:
        import botocore.session

        _model = botocore.session.get_session().get_service_model("cloudwatch")
    return _model


def _decode(body: bytes) -> dict:
    from botocore.parsers import RpcV2CBORParser

    if not body:
        return {}
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body)) or {}


def _encode(value, shape) -> bytes:
    from botocore.serialize import RpcV2CBORSerializer

    out = bytearray()
    if shape is not None:
        RpcV2CBORSerializer()._serialize_data_item(out, value, shape)
    else:
        RpcV2CBORSerializer()._serialize_data_item(out, {}, _empty_structure())
    return bytes(out)


def _empty_structure():
    from botocore.model import StructureShape

    return StructureShape("Empty", {"type": "structure", "members": {}})


def _error_shape():
    from botocore.model import StructureShape

    return StructureShape("Error", {"type": "structure", "members": {
        "__type": {"shape": "S"}, "message": {"shape": "S"}}}, _StringResolver())


class _StringResolver:
    def resolve_shape_ref(self, ref):
        from botocore.model import Shape

        return Shape("String", {"type": "string"})


def _translate(app, environ, start_response, operation_name: str):
    from botocore.parsers import QueryParser
    from botocore.serialize import QuerySerializer

    model = _service_model()
    try:
        op = model.operation_model(operation_name)
    except Exception:  # noqa: BLE001 - an unknown operation: let moto answer as it would
        return app(environ, start_response)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    params = _decode(body)
    query = QuerySerializer().serialize_to_request(params, op)["body"]
    form = urlencode(query).encode()
    inner = dict(environ)
    for key in ("HTTP_SMITHY_PROTOCOL", "HTTP_ACCEPT", "HTTP_X_AMZN_QUERY_MODE"):
        inner.pop(key, None)
    inner.update({"PATH_INFO": "/", "REQUEST_METHOD": "POST", "QUERY_STRING": "",
                  "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(form)),
                  "wsgi.input": io.BytesIO(form)})
    got: dict = {}

    def inner_start(status, headers, exc_info=None):
        got["status"], got["headers"] = status, headers
        return lambda _data: None

    chunks = app(inner, inner_start)
    try:
        xml = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    status = got.get("status", "500 Internal Server Error")
    code = int(status.split(" ", 1)[0])
    headers = {k.lower(): v for k, v in got.get("headers", [])}
    request_id = headers.get("x-amzn-requestid") or str(uuid.uuid4())
    response = {"body": xml, "headers": headers, "status_code": code}
    out_headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                   ("x-amzn-RequestId", request_id)]
    if code < 300:
        parsed = QueryParser().parse(response, op.output_shape)
        parsed.pop("ResponseMetadata", None)
        payload = _encode(parsed, op.output_shape)
    else:
        error = QueryParser().parse(response, None).get("Error", {})
        error_code = error.get("Code") or "InternalFailure"
        fault = "Receiver" if code >= 500 else "Sender"
        out_headers.append(("x-amzn-query-error", f"{error_code};{fault}"))
        payload = _encode({"__type": error_code, "message": error.get("Message", "")}, _error_shape())
    out_headers.append(("Content-Length", str(len(payload))))
    start_response(status, out_headers)
    return [payload]


def install(settings: EmulatorSettings) -> None:  # noqa: ARG001 - the extension interface
    pass


def wrap(app, settings: EmulatorSettings):  # noqa: ARG001 - the extension interface
    def middleware(environ, start_response):
        m = _PATH.match(environ.get("PATH_INFO", ""))
        if m and environ.get("REQUEST_METHOD") == "POST" and environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor":
            return _translate(app, environ, start_response, m.group(1))
        return app(environ, start_response)

    return middleware
