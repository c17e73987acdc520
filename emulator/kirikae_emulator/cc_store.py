"""Cloud Control for every type moto's CloudFormation support can create and delete.

AWS Cloud Control reads and deletes a resource through its type's CloudFormation handlers, named
by the type's primary identifier (its registry schema). moto has no Cloud Control, but it has
CloudFormation hooks on its models (`create_from_cloudformation_json`, `delete` or
`delete_from_cloudformation_json`, `get_cfn_attribute`). This module drives those hooks with the
same schemas AWS publishes (the ones cfn-lint bundles, pinned in requirements.txt):

* CreateResource {TypeName, DesiredState}: the model is created in moto's backend (it is then
  visible through the service's own API too); its identifier is the schema's primaryIdentifier,
  values joined with `|`; Tags in the desired state are kept for the Tagging API (cc_tagging).
* GetResource: the desired state (without Tags) plus the schema's read-only properties the
  model can answer (`Arn`, ids...).
* ListResources: every resource of the type made here.
* DeleteResource: through the model's own deletion hook; ClientToken makes it idempotent.

Types whose service moto has without CloudFormation support get a small hook of the emulator's
(cc_hooks: Athena work groups, Cognito user pools...), which makes and deletes them in moto's
backend the same way. A desired state with a property the type's schema lacks is refused
(ValidationException), as AWS's handlers do.

Only types whose model can be deleted are served (by its hook, else by the service's own delete
call in NATIVE_DELETE, which is what Cloud Control's handler does); others answer
UnsupportedActionException, as Cloud Control does for a type without the handler. A model
without an `arn` gets the ARN AWS gives that type (ARN_TEMPLATES), so the Tagging API shows it
as AWS would.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from functools import lru_cache
from pathlib import Path

from . import cc_hooks

_lock = threading.Lock()
# (account, region, type) -> identifier -> Stored
_store: dict[tuple[str, str, str], dict[str, "Stored"]] = {}


class Stored:
    def __init__(self, type_name: str, identifier: str, model, desired: dict, physical_id: str, arn: str | None):
        self.type_name = type_name
        self.identifier = identifier
        self.model = model
        self.desired = desired
        self.physical_id = physical_id
        self.arn = arn
        # (some types name their tags otherwise: HostedZoneTags, HealthCheckTags, PipelineTags)
        key = "Tags" if "Tags" in desired else next((k for k in desired if k.endswith("Tags")), "Tags")
        self.tags: dict[str, str] = _tags_of(desired.get(key))


def reset() -> None:
    with _lock:
        _store.clear()


def _backend(module: str, name: str, account: str, region: str):
    import importlib

    backends = getattr(importlib.import_module(f"moto.{module}.models"), name)[account]
    return backends[region] if region in backends.regions else backends["global"]


# The service call Cloud Control's delete handler makes, for models with no deletion hook.
NATIVE_DELETE = {
    "AWS::ApiGateway::RestApi": lambda a, r, m: _backend("apigateway", "apigateway_backends", a, r).delete_rest_api(m.id),
    "AWS::ECS::Cluster": lambda a, r, m: _backend("ecs", "ecs_backends", a, r).delete_cluster(m.name),
    "AWS::ECS::TaskDefinition": lambda a, r, m: _backend("ecs", "ecs_backends", a, r).deregister_task_definition(m.arn),
    "AWS::EC2::TransitGateway": lambda a, r, m: _backend("ec2", "ec2_backends", a, r).delete_transit_gateway(m.id),
    "AWS::EC2::VPNGateway": lambda a, r, m: _backend("ec2", "ec2_backends", a, r).delete_vpn_gateway(m.id),
    "AWS::Route53::HostedZone": lambda a, r, m: _backend("route53", "route53_backends", a, "global").delete_hosted_zone(m.id),
    "AWS::Route53::HealthCheck": lambda a, r, m: _backend("route53", "route53_backends", a, "global").delete_health_check(m.id),
    "AWS::Redshift::ClusterParameterGroup": lambda a, r, m: _backend("redshift", "redshift_backends", a, r).delete_cluster_parameter_group(m.name),
    "AWS::IAM::ManagedPolicy": lambda a, r, m: _backend("iam", "iam_backends", a, "global").delete_policy(m.arn),
    "AWS::EC2::VPCEndpoint": lambda a, r, m: _backend("ec2", "ec2_backends", a, r).delete_vpc_endpoints([m.id]),
    "AWS::EC2::VPCPeeringConnection": lambda a, r, m: _backend("ec2", "ec2_backends", a, r).delete_vpc_peering_connection(m.id),
    "AWS::EC2::FlowLog": lambda a, r, m: _backend("ec2", "ec2_backends", a, r).delete_flow_logs([m.id]),
    "AWS::ElasticLoadBalancingV2::Listener": lambda a, r, m: _backend("elbv2", "elbv2_backends", a, r).delete_listener(m.arn),
    "AWS::Batch::ComputeEnvironment": lambda a, r, m: _backend("batch", "batch_backends", a, r).delete_compute_environment(m.arn),
    "AWS::Batch::JobQueue": lambda a, r, m: _backend("batch", "batch_backends", a, r).delete_job_queue(m.arn),
    "AWS::Batch::JobDefinition": lambda a, r, m: _backend("batch", "batch_backends", a, r).deregister_job_definition(m.arn),
    "AWS::Redshift::ClusterSubnetGroup": lambda a, r, m: _backend("redshift", "redshift_backends", a, r).delete_cluster_subnet_group(m.cluster_subnet_group_name),
    # (Cloud Control's handler scales the service to zero and deletes it)
    "AWS::ECS::Service": lambda a, r, m: _backend("ecs", "ecs_backends", a, r).delete_service(m.cluster_name, m.name, True),
    "AWS::DataPipeline::Pipeline": lambda a, r, m: _backend("datapipeline", "datapipeline_backends", a, r).delete_pipeline(m.pipeline_id),
}

# ARNs of types whose moto model has none: {region}, {account}, {id} (moto's physical id).
ARN_TEMPLATES = {
    "AWS::ApiGateway::RestApi": "arn:aws:apigateway:{region}::/restapis/{id}",
    "AWS::EC2::VPNGateway": "arn:aws:ec2:{region}:{account}:vpn-gateway/{id}",
    "AWS::Route53::HostedZone": "arn:aws:route53:::hostedzone/{id}",
    "AWS::Route53::HealthCheck": "arn:aws:route53:::healthcheck/{id}",
    "AWS::CloudWatch::Dashboard": "arn:aws:cloudwatch::{account}:dashboard/{id}",
    "AWS::ElasticLoadBalancing::LoadBalancer": "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/{id}",
    "AWS::EC2::VPCEndpoint": "arn:aws:ec2:{region}:{account}:vpc-endpoint/{id}",
    "AWS::EC2::VPCPeeringConnection": "arn:aws:ec2:{region}:{account}:vpc-peering-connection/{id}",
    "AWS::EC2::FlowLog": "arn:aws:ec2:{region}:{account}:vpc-flow-log/{id}",
    "AWS::Redshift::ClusterSubnetGroup": "arn:aws:redshift:{region}:{account}:subnetgroup:{id}",
    "AWS::DataPipeline::Pipeline": "arn:aws:datapipeline:{region}:{account}:pipeline/{id}",
}


def _tags_of(tags) -> dict[str, str]:
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    if isinstance(tags, list):
        return {str(t.get("Key", t.get("key"))): str(t.get("Value", t.get("value", ""))) for t in tags if isinstance(t, dict)}
    return {}


@lru_cache(maxsize=None)
def _providers(region: str) -> dict:
    import cfnlint

    base = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
    path = base / f"{region}.json"
    if not path.exists():
        path = base / "us-east-1.json"
    return json.loads(path.read_text())


@lru_cache(maxsize=None)
def _schema_by_key(key: str) -> dict:
    import cfnlint

    return json.loads((Path(cfnlint.__file__).parent / "data" / "schemas" / "resources" / f"{key}.json").read_text())


def schema(type_name: str, region: str) -> dict | None:
    key = _providers(region).get(type_name)
    return _schema_by_key(key) if key else None


def _top(paths) -> list[str]:
    return [p.split("/")[2] for p in paths or [] if p.count("/") == 2]


def model_class(type_name: str):
    from moto.cloudformation.parsing import get_model_map

    return get_model_map().get(type_name)


def _has_hook(cls, name: str) -> bool:
    method = getattr(cls, name, None)
    return method is not None and not getattr(method, "__isabstractmethod__", False)


def deletable(type_name: str) -> bool:
    """Whether moto's model of the type (or the emulator's own hook, cc_hooks) can be created and
    deleted."""
    if type_name in cc_hooks.HOOKS:
        return True
    cls = model_class(type_name)
    if cls is None or not _has_hook(cls, "create_from_cloudformation_json"):
        return False
    return (
        type_name in NATIVE_DELETE
        or _has_hook(cls, "delete_from_cloudformation_json")
        or callable(getattr(cls, "delete", None))
    )


def served(type_name: str, region: str) -> bool:
    s = schema(type_name, region)
    if s is None or not deletable(type_name):
        return False
    return all(h in s.get("handlers", {}) for h in ("read", "delete", "list"))


def _attr(model, name: str):
    try:
        value = model.get_cfn_attribute(name)
    except Exception:  # moto raises its own "unsupported attribute" errors, or fails on a missing field
        return None
    return value if isinstance(value, (str, int, float, bool, list, dict)) else None


def _field(model, name: str):
    """The model's own field of a property's name (AccessPointId -> access_point_id)."""
    value = getattr(model, re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower(), None)
    return value if isinstance(value, (str, int, float, bool)) else None


def _arn_of(model) -> str | None:
    arn = getattr(model, "arn", None)
    # (moto keeps an endpoint config's ARN as a one-element tuple)
    if isinstance(arn, tuple) and len(arn) == 1:
        arn = arn[0]
    return arn if isinstance(arn, str) else None


def _value(stored_desired: dict, model, physical_id: str, prop: str, only: bool, type_name: str = ""):
    if prop in stored_desired:
        return stored_desired[prop]
    value = _attr(model, prop)
    if value is None and only and getattr(type(model), "physical_resource_id", None) is not None:
        value = getattr(model, "physical_resource_id", None)
    if value is None and prop in ("Arn", type_name.rsplit("::", 1)[-1] + "Arn"):
        # (the type's own ARN, which moto keeps as `arn`: ECS::Service's ServiceArn)
        value = _arn_of(model)
    if value is None:
        value = _field(model, prop)
    if value is None and only:
        value = physical_id
    return value


def create(account: str, region: str, type_name: str, desired: dict, error) -> Stored:
    if not served(type_name, region):
        raise error("UnsupportedActionException", f"Resource type {type_name} does not support CREATE action in kirikae's emulator")
    s = schema(type_name, region)
    unknown = sorted(set(desired) - set(s.get("properties", {})))
    if unknown:
        # (as AWS's handlers validate the desired state against the schema)
        raise error("ValidationException", f"Model validation failed (#: extraneous key [{unknown[0]}] is not permitted)")
    hook = cc_hooks.HOOKS.get(type_name)
    cls = model_class(type_name)
    name_prop = cls.cloudformation_name_type() if cls is not None and _has_hook(cls, "cloudformation_name_type") else ""
    short = type_name.split("::")[2]
    name = desired.get(name_prop) if name_prop else desired.get(f"{short}Name")
    resource_name = name or f"{short.lower()}-{uuid.uuid4().hex[:8]}"
    cfn = {"Type": type_name, "Properties": dict(desired)}
    try:
        if hook is not None:
            model = hook.create(account, region, dict(desired), resource_name)
        else:
            model = cls.create_from_cloudformation_json(resource_name, cfn, account, region)
    except Exception as exc:
        raise error("InvalidRequestException", f"moto could not create {type_name}: {getattr(exc, 'message', None) or exc}") from None
    physical_id = getattr(model, "physical_resource_id", None) or resource_name
    primary = _top(s.get("primaryIdentifier"))
    values = [_value(desired, model, physical_id, p, len(primary) == 1, type_name) for p in primary]
    if any(v is None for v in values):
        raise error("InvalidRequestException", f"{type_name}: cannot tell its {', '.join(primary)} from what moto made")
    identifier = "|".join(str(v) for v in values)
    arn = _arn_of(model) or _attr(model, "Arn")
    if not isinstance(arn, str) and type_name in ARN_TEMPLATES:
        arn = ARN_TEMPLATES[type_name].format(region=region, account=account, id=physical_id)
    stored = Stored(type_name, identifier, model, desired, physical_id, arn if isinstance(arn, str) else None)
    with _lock:
        _store.setdefault((account, region, type_name), {})[identifier] = stored
    return stored


def find(account: str, region: str, type_name: str, identifier: str) -> Stored | None:
    with _lock:
        return _store.get((account, region, type_name), {}).get(identifier)


def listing(account: str, region: str, type_name: str) -> list[Stored]:
    with _lock:
        return sorted(_store.get((account, region, type_name), {}).values(), key=lambda s: s.identifier)


def every(account: str, region: str) -> list[Stored]:
    with _lock:
        return [s for (a, r, _), by_id in _store.items() if (a, r) == (account, region) for s in by_id.values()]


def properties(stored: Stored, region: str) -> dict:
    s = schema(stored.type_name, region) or {}
    props = {k: v for k, v in stored.desired.items() if not k.endswith("Tags")}
    primary = _top(s.get("primaryIdentifier"))
    for p in _top(s.get("readOnlyProperties")) + primary:
        if p not in props:
            v = _value(stored.desired, stored.model, stored.physical_id, p, len(primary) == 1 and p == primary[0], stored.type_name)
            if v is not None:
                props[p] = v
    return props


def delete(account: str, region: str, stored: Stored) -> None:
    """Deletes through moto's own hook (as a stack's deletion does), then forgets it."""
    model = stored.model
    cls = type(model)
    hook = cc_hooks.HOOKS.get(stored.type_name)
    if hook is not None:
        hook.delete(account, region, model)
        with _lock:
            _store.get((account, region, stored.type_name), {}).pop(stored.identifier, None)
        return
    if stored.type_name in NATIVE_DELETE:
        NATIVE_DELETE[stored.type_name](account, region, model)
        with _lock:
            _store.get((account, region, stored.type_name), {}).pop(stored.identifier, None)
        return
    try:
        model.delete(account, region)
    except (TypeError, AttributeError):
        cls.delete_from_cloudformation_json(
            stored.physical_id, {"Type": stored.type_name, "Properties": dict(stored.desired)}, account, region
        )
    with _lock:
        _store.get((account, region, stored.type_name), {}).pop(stored.identifier, None)


def forget(account: str, region: str, type_name: str, identifier: str) -> None:
    with _lock:
        _store.get((account, region, type_name), {}).pop(identifier, None)
