"""The Resource Groups Tagging API for resources made through Cloud Control (cc_store).

On AWS every taggable resource shows in GetResources, whichever API made it. moto only lists the
resources of backends that take part in its tagging mixin, and only with the tags its own API
stored, so a resource made through the emulator's Cloud Control with Tags would be invisible.
This middleware adds them:

* GetResources: after moto's last page, the cc_store resources of the account and region that
  have an ARN, match the TagFilters and are not in moto's answer already.
* moto's own entries get the ARN AWS gives them where moto spells it otherwise (MOTO_ARN_FIXES:
  a flow log is `vpc-flow-log/fl-...`, not `flow-logs/fl-...`; an endpoint config's ARN is not
  the text of a Python tuple).
* TagResources / UntagResources: ARNs of cc_store resources are tagged here (the sweep's `mark`)
  and in moto where its backend keeps tags too; the others are passed on to moto.
"""

from __future__ import annotations

import io
import json

from . import cc_store, protocol
from .settings import EmulatorSettings

PREFIX = "ResourceGroupsTaggingAPI_20170126."

# ARNs moto's GetResources spells otherwise than AWS: (moto's, AWS's) resource part.
MOTO_ARN_FIXES = [(":flow-logs/", ":vpc-flow-log/")]


def _aws_arn(arn: str) -> str:
    if arn.startswith("('") and arn.endswith("',)"):
        # (moto keeps an endpoint config's ARN as a one-element tuple, and prints that)
        arn = arn[2:-3]
    for moto, aws in MOTO_ARN_FIXES:
        arn = arn.replace(moto, aws, 1)
    return arn


def install(settings: EmulatorSettings) -> None:  # noqa: ARG001 - cc_store is reset by cloudcontrol
    pass


def _account(environ, req) -> str:
    from .cloudcontrol import _account as account

    return account(environ, req)


def _matches(tags: dict[str, str], filters: list[dict]) -> bool:
    for f in filters:
        key, values = f.get("Key"), f.get("Values") or []
        if key not in tags or (values and tags[key] not in values):
            return False
    return True


def _call(app, environ, body: dict):
    data = json.dumps(body).encode()
    environ = dict(environ)
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    captured = {}

    def start_response(status, headers, exc_info=None):  # noqa: ARG001
        captured["status"], captured["headers"] = status, headers

    chunks = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], chunks


def _answer(start_response, status, headers, payload: bytes):
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(payload)))]
    start_response(status, headers)
    return [payload]


def wrap(app, settings: EmulatorSettings):  # noqa: ARG001 - the extension interface
    def middleware(environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(PREFIX):
            return app(environ, start_response)
        operation = target[len(PREFIX) :]
        if operation not in ("GetResources", "TagResources", "UntagResources"):
            return app(environ, start_response)
        req = protocol.parse_request(environ, read_body=False)
        body = protocol.read_json(environ)
        account, region = _account(environ, req), req.region or "us-east-1"
        from .cloudcontrol import global_stored

        # (a global service's resources show in every region: a scan of several regions meets them in each)
        ours = {s.arn: s for s in cc_store.every(account, region) + global_stored(account) if s.arn}
        if operation == "GetResources":
            status, headers, payload = _call(app, environ, body)
            if not status.startswith("200"):
                return _answer(start_response, status, headers, payload)
            answer = json.loads(payload or b"{}")
            listed = answer.setdefault("ResourceTagMappingList", [])
            for m in listed:
                if "ResourceARN" in m:
                    m["ResourceARN"] = _aws_arn(m["ResourceARN"])
            if answer.get("PaginationToken") or not ours:
                return _answer(start_response, status, headers, json.dumps(answer).encode())
            for m in listed:
                # (tags given through Cloud Control or set here join the ones moto keeps)
                stored = ours.get(m.get("ResourceARN"))
                if stored is not None:
                    tags = {t["Key"]: t["Value"] for t in m.get("Tags", [])} | stored.tags
                    m["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
            seen = {m.get("ResourceARN") for m in listed}
            for arn, stored in sorted(ours.items()):
                if arn in seen or not stored.tags or not _matches(stored.tags, body.get("TagFilters") or []):
                    continue
                listed.append(
                    {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in sorted(stored.tags.items())]}
                )
            return _answer(start_response, status, headers, json.dumps(answer).encode())
        arns = body.get("ResourceARNList") or []
        mine = [a for a in arns if a in ours]
        for arn in mine:
            if operation == "TagResources":
                ours[arn].tags.update({str(k): str(v) for k, v in (body.get("Tags") or {}).items()})
            else:
                for k in body.get("TagKeys") or []:
                    ours[arn].tags.pop(k, None)
        # The others, and ours too where moto keeps tags of its own (its failures for ours,
        # "not supported", are not failures: they are tagged here).
        status, headers, payload = _call(app, environ, body)
        if not status.startswith("200") and mine and all(a in ours for a in arns):
            return protocol.json_response(start_response, 200, {"FailedResourcesMap": {}})
        if not mine or not status.startswith("200"):
            return _answer(start_response, status, headers, payload)
        answer = json.loads(payload or b"{}")
        failed = {a: f for a, f in (answer.get("FailedResourcesMap") or {}).items() if a not in ours}
        return protocol.json_response(start_response, 200, {"FailedResourcesMap": failed})

    return middleware
