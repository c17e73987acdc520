"""AWS Cloud Control API (moto 5.2.5 has none), on moto's real backends.

JSON 1.0 protocol, signing name `cloudcontrolapi`, `X-Amz-Target: CloudApiService.<Operation>`:

* GetResource {TypeName, Identifier} -> {TypeName, ResourceDescription: {Identifier, Properties}}
  (Properties a JSON string, read from moto's backend of that service at the time of the call);
  ResourceNotFoundException when the resource does not exist.
* ListResources {TypeName, ResourceModel?, NextToken?, MaxResults?} -> {TypeName,
  ResourceDescriptions, NextToken?}. A child type (its schema's list handler requires properties,
  e.g. RestApiId of AWS::ApiGateway::Resource) needs them in ResourceModel, else
  InvalidRequestException as on AWS; the listing holds the resources whose properties match it.
* DeleteResource {TypeName, Identifier} -> {ProgressEvent} IN_PROGRESS with a RequestToken. As on
  AWS the work happens after the call returns: the resource is deleted in moto's backend on the
  first GetResourceRequestStatus of that token, which then answers SUCCESS, or FAILED with
  ErrorCode NotFound (it did not exist) / GeneralServiceException (the service refused, message
  included). Later status calls repeat the final event.
* GetResourceRequestStatus {RequestToken} -> {ProgressEvent}; RequestTokenNotFoundException for
  a token it never issued.
* ListResourceRequests {ResourceRequestStatusFilter?: {Operations?, OperationStatuses?},
  NextToken?, MaxResults?} -> {ResourceRequestStatusSummaries, NextToken?}: the account's requests
  in the region, newest first; listing a request counts as looking at it (below).

Types (TypeName: primary identifier -> moto backend):
  AWS::ApiGateway::Resource         RestApiId|ResourceId  apigateway (not the root `/`)
  AWS::Events::Rule                 Arn   events (rule on its bus)
  AWS::Events::EventBus             Name  events
  AWS::SSM::Parameter               Name  ssm
  AWS::StepFunctions::StateMachine  Arn   stepfunctions
Every other type moto's CloudFormation support can create and delete is served by cc_store
(CreateResource too), driven by the same registry schemas; any other type name:
UnsupportedActionException (as for a type whose handlers Cloud Control does not have).
Properties never include `Tags`. A resource of a global service (its ARN names no region, e.g.
IAM) made in one region is read, listed and deleted from every region, as on AWS.

As on AWS, a deletion takes a while: the first look at a request (GetResourceRequestStatus, or
a ListResourceRequests that lists it) answers IN_PROGRESS, the deletion happens on the next one. A DeleteResource with a ClientToken already
seen in that account returns the request that token made (no second deletion). Every
DeleteResource is logged: GET /_kirikae/cloudcontrol/log -> {"deletes": [{TypeName, Identifier,
ClientToken, RequestToken, New}]}. Throttling and other faults come from faults.py
(service "cloudcontrolapi"). The account is the one moto would pick for the
request (MOTO_ACCOUNT_ID, the x-moto-account-id header, else the access key's account).
"""

from __future__ import annotations

import datetime
import json
import os
import threading
import uuid

from . import cc_store, protocol
from .settings import EmulatorSettings

TARGET_PREFIX = "CloudApiService."

_lock = threading.Lock()
_requests: dict[str, dict] = {}  # token -> {"event": ProgressEvent, "pending": callable | None, "polls": n}
_client_tokens: dict[tuple[str, str], str] = {}  # (account, ClientToken) -> RequestToken
_delete_log: list[dict] = []
LOG_PATH = "/_kirikae/cloudcontrol/log"
# Status calls a deletion answers IN_PROGRESS before it is carried out.
POLLS_IN_PROGRESS = 1


class CcError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def reset() -> None:
    with _lock:
        _requests.clear()
        _client_tokens.clear()
        _delete_log.clear()
    cc_store.reset()


def _account(environ, req: protocol.AwsRequest) -> str:
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    header = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if header:
        return header
    from moto.iam.models import get_account_id_from

    return get_account_id_from(req.access_key or "")


def _not_found(type_name: str, identifier: str) -> CcError:
    return CcError("ResourceNotFoundException", f"{type_name} with identifier '{identifier}' was not found")


# --- types: get(account, region, identifier) -> props, delete(...), list(...) -> [identifier] ----


def _events(account: str, region: str):
    from moto.events.models import events_backends

    return events_backends[account][region]


def _rule_name_and_bus(identifier: str) -> tuple[str, str | None]:
    # arn:aws:events:r:a:rule/NAME or rule/BUS/NAME
    resource = identifier.split(":", 5)[-1] if identifier.startswith("arn:") else f"rule/{identifier}"
    parts = resource.split("/")
    if len(parts) == 3:
        return parts[2], parts[1]
    return parts[-1], None


def _rule_get(account, region, identifier):
    from moto.events.exceptions import ResourceNotFoundException

    name, bus = _rule_name_and_bus(identifier)
    try:
        rule = _events(account, region).describe_rule(name, bus)
    except ResourceNotFoundException:
        raise _not_found("AWS::Events::Rule", identifier) from None
    props = {"Arn": rule.arn, "Name": rule.name, "EventBusName": rule.event_bus_name, "State": rule.state}
    if rule.description:
        props["Description"] = rule.description
    if rule.scheduled_expression:
        props["ScheduleExpression"] = rule.scheduled_expression
    if rule.event_pattern and rule.event_pattern._raw_pattern:
        props["EventPattern"] = rule.event_pattern._raw_pattern
    if rule.role_arn:
        props["RoleArn"] = rule.role_arn
    props["Targets"] = [{"Id": t["Id"], "Arn": t["Arn"]} for t in rule.targets]
    return props


def _rule_delete(account, region, identifier):
    _rule_get(account, region, identifier)
    name, bus = _rule_name_and_bus(identifier)
    backend = _events(account, region)
    rule = backend.describe_rule(name, bus)
    # CloudFormation's handler removes the rule's targets first.
    if rule.targets:
        backend.remove_targets(name, bus, [t["Id"] for t in rule.targets])
    backend.delete_rule(name, bus)


def _rule_list(account, region):
    return [r.arn for bus in _events(account, region).event_buses.values() for r in bus.rules.values()]


def _bus_get(account, region, identifier):
    backend = _events(account, region)
    bus = backend.event_buses.get(identifier)
    if bus is None:
        raise _not_found("AWS::Events::EventBus", identifier)
    props = {"Name": bus.name, "Arn": bus.arn}
    if getattr(bus, "description", None):
        props["Description"] = bus.description
    if getattr(bus, "policy", None):
        props["Policy"] = json.loads(bus.policy) if isinstance(bus.policy, str) else bus.policy
    return props


def _bus_delete(account, region, identifier):
    _bus_get(account, region, identifier)
    _events(account, region).delete_event_bus(identifier)


def _bus_list(account, region):
    return list(_events(account, region).event_buses)


def _ssm(account: str, region: str):
    from moto.ssm.models import ssm_backends

    return ssm_backends[account][region]


def _parameter_get(account, region, identifier):
    p = _ssm(account, region).get_parameter(identifier)
    if p is None or ":" in identifier:
        raise _not_found("AWS::SSM::Parameter", identifier)
    props = {"Name": p.name, "Type": p.parameter_type, "Value": p.value, "DataType": p.data_type}
    if p.description:
        props["Description"] = p.description
    if p.allowed_pattern:
        props["AllowedPattern"] = p.allowed_pattern
    return props


def _parameter_delete(account, region, identifier):
    _parameter_get(account, region, identifier)
    _ssm(account, region).delete_parameter(identifier)


def _parameter_list(account, region):
    return list(_ssm(account, region)._parameters)


def _states(account: str, region: str):
    from moto.stepfunctions.models import stepfunctions_backends

    return stepfunctions_backends[account][region]


def _machine(account, region, identifier):
    for sm in _states(account, region).state_machines:
        if sm.arn == identifier:
            return sm
    raise _not_found("AWS::StepFunctions::StateMachine", identifier)


def _machine_get(account, region, identifier):
    sm = _machine(account, region, identifier)
    props = {
        "Arn": sm.arn,
        "Name": sm.name,
        "StateMachineName": sm.name,
        "RoleArn": sm.roleArn,
        "DefinitionString": sm.definition,
        "StateMachineType": sm.type,
    }
    if sm.loggingConfiguration:
        props["LoggingConfiguration"] = sm.loggingConfiguration
    if sm.tracingConfiguration:
        props["TracingConfiguration"] = sm.tracingConfiguration
    return props


def _machine_delete(account, region, identifier):
    _machine(account, region, identifier)
    _states(account, region).delete_state_machine(identifier)


def _machine_list(account, region):
    return [sm.arn for sm in _states(account, region).state_machines]


def _apigateway(account: str, region: str):
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account][region]


def _api_resource(account, region, identifier):
    api_id, _, resource_id = identifier.partition("|")
    api = _apigateway(account, region).apis.get(api_id)
    resource = api.resources.get(resource_id) if api is not None else None
    # (the root resource `/` is the REST API's own: Cloud Control lists and deletes it with it)
    if resource is None or not getattr(resource, "parent_id", None):
        raise _not_found("AWS::ApiGateway::Resource", identifier)
    return api_id, resource


def _api_resource_get(account, region, identifier):
    api_id, r = _api_resource(account, region, identifier)
    return {"RestApiId": api_id, "ResourceId": r.id, "ParentId": r.parent_id, "PathPart": r.path_part}


def _api_resource_delete(account, region, identifier):
    api_id, r = _api_resource(account, region, identifier)
    _apigateway(account, region).delete_resource(api_id, r.id)


def _api_resource_list(account, region):
    return [
        f"{api_id}|{r.id}"
        for api_id, api in _apigateway(account, region).apis.items()
        for r in api.resources.values()
        if getattr(r, "parent_id", None)
    ]


TYPES = {
    "AWS::ApiGateway::Resource": (_api_resource_get, _api_resource_delete, _api_resource_list),
    "AWS::Events::Rule": (_rule_get, _rule_delete, _rule_list),
    "AWS::Events::EventBus": (_bus_get, _bus_delete, _bus_list),
    "AWS::SSM::Parameter": (_parameter_get, _parameter_delete, _parameter_list),
    "AWS::StepFunctions::StateMachine": (_machine_get, _machine_delete, _machine_list),
}


def _generic(type_name: str, region: str):
    """(get, delete, list) of a type cc_store serves, by moto's CloudFormation hooks."""

    def get(account, region, identifier):
        home, stored = _find(account, region, type_name, identifier)
        if stored is None:
            raise _not_found(type_name, identifier)
        return cc_store.properties(stored, home)

    def delete(account, region, identifier):
        home, stored = _find(account, region, type_name, identifier)
        if stored is None:
            raise _not_found(type_name, identifier)
        cc_store.delete(account, home, stored)

    def listing(account, region):
        return sorted({s.identifier for s in cc_store.listing(account, region, type_name) + global_stored(account, type_name)})

    return get, delete, listing


def _is_global(stored) -> bool:
    """A resource of a global service (IAM, Route 53): its ARN names no region."""
    return bool(stored.arn) and stored.arn.split(":")[3:4] == [""]


def global_stored(account: str, type_name: str | None = None) -> list:
    """Resources of global services made through Cloud Control in any region: as on AWS, every
    region reads, lists and deletes them; the Tagging API of every region shows them here)."""
    with cc_store._lock:
        return [
            s
            for (a, _, t), by_id in cc_store._store.items()
            if a == account and (type_name is None or t == type_name)
            for s in by_id.values()
            if _is_global(s)
        ]


def _find(account: str, region: str, type_name: str, identifier: str):
    """(the region it was made in, the stored resource) in `region`, or any region for a global one."""
    stored = cc_store.find(account, region, type_name, identifier)
    if stored is not None:
        return region, stored
    with cc_store._lock:
        for (a, home, t), by_id in cc_store._store.items():
            s = by_id.get(identifier)
            if a == account and t == type_name and s is not None and _is_global(s):
                return home, s
    return region, None


def _handlers(type_name: str, action: str, region: str = "us-east-1"):
    if not type_name:
        raise CcError("ValidationException", "1 validation error detected: TypeName must not be null")
    if type_name in TYPES:
        return TYPES[type_name]
    if cc_store.served(type_name, region):
        return _generic(type_name, region)
    raise CcError(
        "UnsupportedActionException",
        f"Resource type {type_name} does not support {action} action (kirikae's emulator implements "
        f"{', '.join(sorted(TYPES))} and the types moto's CloudFormation support can create and delete)",
    )


def _now() -> float:
    return datetime.datetime.now(datetime.timezone.utc).timestamp()


def _describe(type_name: str, identifier: str, props: dict) -> dict:
    return {"Identifier": identifier, "Properties": json.dumps(props, sort_keys=True, default=str)}


def get_resource(account: str, region: str, body: dict) -> dict:
    type_name, identifier = body.get("TypeName", ""), body.get("Identifier", "")
    get, _, _ = _handlers(type_name, "READ", region)
    if not identifier:
        raise CcError("ValidationException", "1 validation error detected: Identifier must not be null")
    return {"TypeName": type_name, "ResourceDescription": _describe(type_name, identifier, get(account, region, identifier))}


def _list_filter(type_name: str, region: str, body: dict) -> dict:
    """The ResourceModel a child type is listed under (its parent's identifier), checked as AWS
    does: the list handler's required properties must be there."""
    try:
        model = json.loads(body.get("ResourceModel") or "{}")
    except ValueError:
        raise CcError("ValidationException", "ResourceModel is not JSON") from None
    if not isinstance(model, dict):
        raise CcError("ValidationException", "ResourceModel must be a JSON object")
    s = cc_store.schema(type_name, region) or {}
    required = ((s.get("handlers") or {}).get("list") or {}).get("handlerSchema", {}).get("required") or []
    missing = [p for p in required if p not in model]
    if missing:
        raise CcError(
            "InvalidRequestException",
            f"Missing Or Invalid ResourceModel property in {type_name} list handler request input. "
            f"Required property:  [{', '.join(required)}]",
        )
    return model


def list_resources(account: str, region: str, body: dict) -> dict:
    type_name = body.get("TypeName", "")
    get, _, listing = _handlers(type_name, "LIST", region)
    model = _list_filter(type_name, region, body)
    described = [(i, get(account, region, i)) for i in sorted(listing(account, region))]
    described = [(i, p) for i, p in described if all(str(p.get(k)) == str(v) for k, v in model.items())]
    start = int(body.get("NextToken") or 0)
    size = int(body.get("MaxResults") or 100)
    page = described[start : start + size]
    ids = described
    out = {
        "TypeName": type_name,
        "ResourceDescriptions": [_describe(type_name, i, p) for i, p in page],
    }
    if start + size < len(ids):
        out["NextToken"] = str(start + size)
    return out


def create_resource(account: str, region: str, body: dict) -> dict:
    type_name = body.get("TypeName", "")
    try:
        desired = json.loads(body.get("DesiredState") or "{}")
    except ValueError:
        raise CcError("ValidationException", "DesiredState is not JSON") from None
    stored = cc_store.create(account, region, type_name, desired, CcError)
    token = str(uuid.uuid4())
    event = {
        "TypeName": type_name,
        "Identifier": stored.identifier,
        "RequestToken": token,
        "Operation": "CREATE",
        "OperationStatus": "SUCCESS",
        "EventTime": _now(),
    }
    with _lock:
        _requests[token] = {"event": event, "pending": None, "polls": 0, "account": account, "region": region, "created": _now()}
    return {"ProgressEvent": dict(event)}


def delete_resource(account: str, region: str, body: dict) -> dict:
    type_name, identifier = body.get("TypeName", ""), body.get("Identifier", "")
    _, delete, _ = _handlers(type_name, "DELETE", region)
    if not identifier:
        raise CcError("ValidationException", "1 validation error detected: Identifier must not be null")
    client_token = body.get("ClientToken")
    with _lock:
        earlier = _client_tokens.get((account, client_token)) if client_token else None
        if earlier is not None:
            request = _requests[earlier]
            if (request["event"]["TypeName"], request["event"]["Identifier"]) != (type_name, identifier):
                raise CcError(
                    "ClientTokenConflictException",
                    f"ClientToken {client_token} was used for another request ({request['event']['TypeName']} "
                    f"{request['event']['Identifier']})",
                )
            _delete_log.append(
                {"TypeName": type_name, "Identifier": identifier, "ClientToken": client_token, "RequestToken": earlier, "New": False}
            )
            return {"ProgressEvent": dict(request["event"])}
    token = str(uuid.uuid4())
    event = {
        "TypeName": type_name,
        "Identifier": identifier,
        "RequestToken": token,
        "Operation": "DELETE",
        "OperationStatus": "IN_PROGRESS",
        "EventTime": _now(),
    }
    with _lock:
        _requests[token] = {
            "event": event,
            "pending": lambda: delete(account, region, identifier),
            "polls": 0,
            "account": account,
            "region": region,
            "created": _now(),
        }
        if client_token:
            _client_tokens[(account, client_token)] = token
        _delete_log.append(
            {"TypeName": type_name, "Identifier": identifier, "ClientToken": client_token, "RequestToken": token, "New": True}
        )
    return {"ProgressEvent": dict(event)}


def get_resource_request_status(account: str, region: str, body: dict) -> dict:
    token = body.get("RequestToken", "")
    with _lock:
        request = _requests.get(token)
        if request is None:
            raise CcError("RequestTokenNotFoundException", f"Request with token {token} was not found")
        return {"ProgressEvent": dict(_observe(request, account, region))}


def list_resource_requests(account: str, region: str, body: dict) -> dict:
    """The account's requests in this region, newest first, filtered by operation and status;
    each one listed counts as looked at (a deletion goes on as it would on a status call)."""
    wanted = body.get("ResourceRequestStatusFilter") or {}
    operations, statuses = wanted.get("Operations") or [], wanted.get("OperationStatuses") or []
    with _lock:
        mine = [r for r in _requests.values() if (r.get("account"), r.get("region")) == (account, region)]
        events = []
        for r in sorted(mine, key=lambda r: -r["created"]):
            if operations and r["event"]["Operation"] not in operations:
                continue
            event = _observe(r, account, region)
            if not statuses or event["OperationStatus"] in statuses:
                events.append(dict(event))
    start = int(body.get("NextToken") or 0)
    size = int(body.get("MaxResults") or 100)
    out = {"ResourceRequestStatusSummaries": events[start : start + size]}
    if start + size < len(events):
        out["NextToken"] = str(start + size)
    return out


def _observe(request: dict, account: str, region: str) -> dict:
    """A request looked at (under _lock): a deletion still IN_PROGRESS for its first looks,
    carried out on the next. Returns its event."""
    event = request["event"]
    if request.get("pending") is not None and request["polls"] < POLLS_IN_PROGRESS:
        request["polls"] += 1
        return event
    pending = request.pop("pending", None)
    if pending is not None:
        try:
            pending()
            event["OperationStatus"] = "SUCCESS"
            # (a resource cc_store made but a native type deleted is gone from its store too)
            cc_store.forget(request.get("account", account), request.get("region", region), event["TypeName"], event["Identifier"])
        except CcError as exc:
            event["OperationStatus"] = "FAILED"
            event["ErrorCode"] = "NotFound" if exc.code == "ResourceNotFoundException" else "GeneralServiceException"
            event["StatusMessage"] = exc.message
        except Exception as exc:  # the service refused (moto's own error)
            event["OperationStatus"] = "FAILED"
            event["ErrorCode"] = "GeneralServiceException"
            event["StatusMessage"] = getattr(exc, "message", None) or str(exc)
        event["EventTime"] = _now()
    return event


OPERATIONS = {
    "CreateResource": create_resource,
    "GetResource": get_resource,
    "ListResources": list_resources,
    "DeleteResource": delete_resource,
    "GetResourceRequestStatus": get_resource_request_status,
    "ListResourceRequests": list_resource_requests,
}


def _answer(start_response, status: int, payload: dict, error: str | None = None):
    body = json.dumps(payload).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-RequestId", str(uuid.uuid4())),
        ("Content-Length", str(len(body))),
    ]
    if error:
        headers.append(("x-amzn-ErrorType", error))
    start_response(f"{status} {'OK' if status == 200 else 'Bad Request'}", headers)
    return [body]


def install(settings: EmulatorSettings) -> None:
    settings.on_reset(reset)


def wrap(app, settings: EmulatorSettings):  # noqa: ARG001 - the extension interface
    def middleware(environ, start_response):
        if environ.get("PATH_INFO") == LOG_PATH:
            with _lock:
                log = [dict(d) for d in _delete_log]
            return protocol.json_response(start_response, 200, {"deletes": log})
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET_PREFIX):
            return app(environ, start_response)
        req = protocol.parse_request(environ, read_body=False)
        operation = target[len(TARGET_PREFIX) :]
        handler = OPERATIONS.get(operation)
        try:
            if handler is None:
                raise CcError("UnknownOperationException", f"Operation {operation} is not implemented by kirikae's emulator")
            body = protocol.read_json(environ)
            region = req.region or "us-east-1"
            return _answer(start_response, 200, handler(_account(environ, req), region, body))
        except CcError as exc:
            return _answer(
                start_response, exc.status, {"__type": f"com.amazonaws.cloudapiservice#{exc.code}", "Message": exc.message}, exc.code
            )
        except ValueError as exc:
            return _answer(start_response, 400, {"__type": "SerializationException", "Message": str(exc)}, "SerializationException")

    return middleware
