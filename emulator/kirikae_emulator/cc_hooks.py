"""CloudFormation hooks the emulator adds for types whose service moto has but whose model has no
CloudFormation support (no `create_from_cloudformation_json`), so that Cloud Control (cc_store)
can create, read and delete them as AWS's handlers do.

Each hook makes the resource in moto's own backend of the service (so the service's API sees it
too) from the desired state, with the property names of the type's registry schema, and answers
the schema's read-only properties (the ids and ARN AWS makes) through `get_cfn_attribute`, as a
moto model would. Deleting it calls the backend's own delete, which is what the type's delete
handler calls on AWS. Tags in the desired state are handed to the backend where it keeps them.

    HOOKS[type] = Hook(create(account, region, desired, name) -> Made, delete(account, region, Made))
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Made:
    """What a hook made: the identifier moto knows it by, its ARN and the read-only properties."""

    physical_resource_id: str
    arn: str
    attributes: dict[str, Any] = field(default_factory=dict)
    model: Any = None

    def get_cfn_attribute(self, name: str):
        if name == "Arn":
            return self.attributes.get("Arn", self.arn)
        return self.attributes[name]


@dataclass
class Hook:
    create: Callable[[str, str, dict, str], Made]
    delete: Callable[[str, str, Made], None]


def _backend(module: str, name: str, account: str, region: str):
    backends = getattr(importlib.import_module(f"moto.{module}.models"), name)[account]
    return backends[region] if region in backends.regions else backends["global"]


def _tag_list(tags) -> list[dict[str, str]]:
    if isinstance(tags, dict):
        return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags or []]


def _tag_map(tags) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in _tag_list(tags)}


def _required(desired: dict, *names: str) -> None:
    missing = [n for n in names if n not in desired]
    if missing:
        raise ValueError(f"#: required key [{missing[0]}] not found")


# --- Athena::WorkGroup: Name -------------------------------------------------------------------


def _workgroup_create(account, region, desired, name):
    _required(desired, "Name")
    b = _backend("athena", "athena_backends", account, region)
    wg = b.create_work_group(
        desired["Name"], desired.get("WorkGroupConfiguration", {}), desired.get("Description", ""), _tag_list(desired.get("Tags"))
    )
    if wg is None:
        raise ValueError(f"WorkGroup {desired['Name']} already exists")
    return Made(desired["Name"], wg.arn, {"CreationTime": "2026-01-01T00:00:00Z", "State": desired.get("State", "ENABLED")}, wg)


def _workgroup_delete(account, region, made):
    _backend("athena", "athena_backends", account, region).delete_work_group(made.physical_resource_id)


# --- Glue::Workflow: Name ----------------------------------------------------------------------


def _workflow_create(account, region, desired, name):
    b = _backend("glue", "glue_backends", account, region)
    wf_name = desired.get("Name") or name
    b.create_workflow(
        wf_name, desired.get("DefaultRunProperties"), desired.get("Description"), desired.get("MaxConcurrentRuns"), _tag_map(desired.get("Tags"))
    )
    return Made(wf_name, f"arn:aws:glue:{region}:{account}:workflow/{wf_name}", {"Name": wf_name})


def _workflow_delete(account, region, made):
    _backend("glue", "glue_backends", account, region).delete_workflow(made.physical_resource_id)


# --- CloudTrail::Trail: TrailName --------------------------------------------------------------


def _trail_create(account, region, desired, name):
    _required(desired, "S3BucketName", "IsLogging")
    b = _backend("cloudtrail", "cloudtrail_backends", account, region)
    trail_name = desired.get("TrailName") or name
    trail = b.create_trail(
        trail_name,
        desired["S3BucketName"],
        desired.get("S3KeyPrefix"),
        desired.get("SnsTopicName"),
        desired.get("IncludeGlobalServiceEvents", True),
        desired.get("IsMultiRegionTrail", False),
        desired.get("EnableLogFileValidation", False),
        desired.get("IsOrganizationTrail", False),
        desired.get("CloudWatchLogsLogGroupArn"),
        desired.get("CloudWatchLogsRoleArn"),
        desired.get("KMSKeyId"),
        _tag_list(desired.get("Tags")),
    )
    if desired["IsLogging"]:
        b.start_logging(trail_name)
    return Made(trail_name, trail.arn, {"TrailName": trail_name, "Arn": trail.arn}, trail)


def _trail_delete(account, region, made):
    _backend("cloudtrail", "cloudtrail_backends", account, region).delete_trail(made.physical_resource_id)


# --- Backup::BackupPlan: BackupPlanId ----------------------------------------------------------


def _plan_create(account, region, desired, name):
    _required(desired, "BackupPlan")
    b = _backend("backup", "backup_backends", account, region)
    # (the schema's BackupPlanRule/TargetBackupVault are the API's Rules/TargetBackupVaultName)
    doc = desired["BackupPlan"]
    rules = [
        {"RuleName": r["RuleName"], "TargetBackupVaultName": r["TargetBackupVault"], **{k: v for k, v in r.items() if k not in ("RuleName", "TargetBackupVault")}}
        for r in doc.get("BackupPlanRule", [])
    ]
    api_doc = {"BackupPlanName": doc["BackupPlanName"], "Rules": rules}
    plan = b.create_backup_plan(api_doc, _tag_map(desired.get("BackupPlanTags")), name)
    attrs = {"BackupPlanId": plan.backup_plan_id, "BackupPlanArn": plan.backup_plan_arn, "VersionId": plan.version_id}
    return Made(plan.backup_plan_id, plan.backup_plan_arn, attrs, plan)


def _plan_delete(account, region, made):
    b = _backend("backup", "backup_backends", account, region)
    b.delete_backup_plan(made.physical_resource_id)
    # (moto keeps a deleted plan with its DeletionDate; AWS lists it no more)
    b.plans.pop(made.physical_resource_id, None)


# --- Scheduler::ScheduleGroup: Name ------------------------------------------------------------


def _schedule_group_create(account, region, desired, name):
    b = _backend("scheduler", "scheduler_backends", account, region)
    group_name = desired.get("Name") or name
    group = b.create_schedule_group(group_name, _tag_list(desired.get("Tags")))
    attrs = {"Arn": group.arn, "State": "ACTIVE", "CreationDate": "2026-01-01T00:00:00Z", "LastModificationDate": "2026-01-01T00:00:00Z"}
    return Made(group_name, group.arn, attrs, group)


def _schedule_group_delete(account, region, made):
    _backend("scheduler", "scheduler_backends", account, region).delete_schedule_group(made.physical_resource_id)


# --- ElastiCache::SubnetGroup: CacheSubnetGroupName --------------------------------------------


def _cache_subnet_group_create(account, region, desired, name):
    _required(desired, "Description", "SubnetIds")
    b = _backend("elasticache", "elasticache_backends", account, region)
    group_name = (desired.get("CacheSubnetGroupName") or name).lower()
    group = b.create_cache_subnet_group(group_name, desired["Description"], desired["SubnetIds"], _tag_list(desired.get("Tags")))
    return Made(group_name, group.arn, {"CacheSubnetGroupName": group_name}, group)


def _cache_subnet_group_delete(account, region, made):
    b = _backend("elasticache", "elasticache_backends", account, region)
    if hasattr(b, "delete_cache_subnet_group"):
        b.delete_cache_subnet_group(made.physical_resource_id)
    else:
        b.cache_subnet_groups.pop(made.physical_resource_id)


# --- ResourceGroups::Group: Name ---------------------------------------------------------------


def _resource_group_create(account, region, desired, name):
    _required(desired, "Name")
    b = _backend("resourcegroups", "resourcegroups_backends", account, region)
    query = desired.get("ResourceQuery") or {}
    group = b.create_group(
        desired["Name"],
        {"Type": query.get("Type", "TAG_FILTERS_1_0"), "Query": _query_text(query.get("Query"))} if query else {},
        desired.get("Description"),
        _tag_map(desired.get("Tags")),
        desired.get("Configuration"),
    )
    return Made(desired["Name"], group.arn, {"Arn": group.arn}, group)


def _query_text(query) -> str:
    import json

    if isinstance(query, str):
        return query
    q = query or {}
    filters = [{"Key": f.get("Key"), "Values": f.get("Values", [])} for f in q.get("TagFilters", [])]
    return json.dumps({"ResourceTypeFilters": q.get("ResourceTypeFilters", ["AWS::AllSupported"]), "TagFilters": filters})


def _resource_group_delete(account, region, made):
    _backend("resourcegroups", "resourcegroups_backends", account, region).delete_group(made.physical_resource_id)


# --- Cognito::UserPool: UserPoolId -------------------------------------------------------------


def _user_pool_create(account, region, desired, name):
    b = _backend("cognitoidp", "cognitoidp_backends", account, region)
    pool_name = desired.get("UserPoolName") or name
    pool = b.create_user_pool(pool_name, {"UserPoolTags": _tag_map(desired.get("UserPoolTags"))})
    attrs = {
        "UserPoolId": pool.id,
        "Arn": pool.arn,
        "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool.id}",
        "ProviderURL": f"https://cognito-idp.{region}.amazonaws.com/{pool.id}",
    }
    return Made(pool.id, pool.arn, attrs, pool)


def _user_pool_delete(account, region, made):
    _backend("cognitoidp", "cognitoidp_backends", account, region).delete_user_pool(made.physical_resource_id)


# --- ApiGatewayV2::Api: ApiId ------------------------------------------------------------------


def _http_api_create(account, region, desired, name):
    b = _backend("apigatewayv2", "apigatewayv2_backends", account, region)
    api = b.create_api(
        api_key_selection_expression=desired.get("ApiKeySelectionExpression"),
        cors_configuration=desired.get("CorsConfiguration"),
        description=desired.get("Description"),
        disable_schema_validation=desired.get("DisableSchemaValidation"),
        disable_execute_api_endpoint=desired.get("DisableExecuteApiEndpoint"),
        name=desired.get("Name") or name,
        protocol_type=desired.get("ProtocolType", "HTTP"),
        route_selection_expression=desired.get("RouteSelectionExpression"),
        tags=_tag_map(desired.get("Tags")),
        version=desired.get("Version"),
    )
    attrs = {
        "ApiId": api.api_id,
        "ApiEndpoint": f"https://{api.api_id}.execute-api.{region}.amazonaws.com",
        "ExecuteApiArn": f"arn:aws:execute-api:{region}:{account}:{api.api_id}",
    }
    return Made(api.api_id, f"arn:aws:apigateway:{region}::/apis/{api.api_id}", attrs, api)


def _http_api_delete(account, region, made):
    _backend("apigatewayv2", "apigatewayv2_backends", account, region).delete_api(made.physical_resource_id)


# --- ApiGateway::UsagePlan: Id -----------------------------------------------------------------


def _usage_plan_create(account, region, desired, name):
    b = _backend("apigateway", "apigateway_backends", account, region)
    payload = {"name": desired.get("UsagePlanName") or name, "description": desired.get("Description"), "tags": _tag_map(desired.get("Tags"))}
    if desired.get("Throttle"):
        payload["throttle"] = {k[0].lower() + k[1:]: v for k, v in desired["Throttle"].items()}
    if desired.get("Quota"):
        payload["quota"] = {k[0].lower() + k[1:]: v for k, v in desired["Quota"].items()}
    plan = b.create_usage_plan(payload)
    return Made(plan.id, f"arn:aws:apigateway:{region}::/usageplans/{plan.id}", {"Id": plan.id}, plan)


def _usage_plan_delete(account, region, made):
    _backend("apigateway", "apigateway_backends", account, region).delete_usage_plan(made.physical_resource_id)


# --- SES::ConfigurationSet: Name ---------------------------------------------------------------


def _config_set_create(account, region, desired, name):
    b = _backend("sesv2", "sesv2_backends", account, region)
    set_name = desired.get("Name") or name
    b.create_configuration_set(
        configuration_set_name=set_name,
        tracking_options=desired.get("TrackingOptions") or {},
        delivery_options=desired.get("DeliveryOptions") or {},
        reputation_options=desired.get("ReputationOptions") or {},
        sending_options=desired.get("SendingOptions") or {},
        tags=_tag_list(desired.get("Tags")),
        suppression_options=desired.get("SuppressionOptions") or {},
        vdm_options=desired.get("VdmOptions") or {},
    )
    return Made(set_name, f"arn:aws:ses:{region}:{account}:configuration-set/{set_name}", {"Name": set_name})


def _config_set_delete(account, region, made):
    _backend("sesv2", "sesv2_backends", account, region).delete_configuration_set(made.physical_resource_id)


# --- Batch::ComputeEnvironment: ComputeEnvironmentArn ------------------------------------------
# (moto's own hook demands ComputeResources, which an UNMANAGED environment has none of on AWS)


def _compute_environment_create(account, region, desired, name):
    _required(desired, "Type")
    b = _backend("batch", "batch_backends", account, region)
    ce_name = desired.get("ComputeEnvironmentName") or name
    given = desired.get("ComputeResources")
    resources = {k[0].lower() + k[1:]: v for k, v in given.items()} if given else None
    ce = b.create_compute_environment(ce_name, desired["Type"], desired.get("State", "ENABLED"), resources, desired.get("ServiceRole"))
    b.tag_resource(ce.arn, _tag_map(desired.get("Tags")))
    return Made(ce.arn, ce.arn, {"ComputeEnvironmentArn": ce.arn, "Status": "VALID"}, ce)


def _compute_environment_delete(account, region, made):
    _backend("batch", "batch_backends", account, region).delete_compute_environment(made.arn)


HOOKS: dict[str, Hook] = {
    "AWS::Batch::ComputeEnvironment": Hook(_compute_environment_create, _compute_environment_delete),
    "AWS::Athena::WorkGroup": Hook(_workgroup_create, _workgroup_delete),
    "AWS::Glue::Workflow": Hook(_workflow_create, _workflow_delete),
    "AWS::CloudTrail::Trail": Hook(_trail_create, _trail_delete),
    "AWS::Backup::BackupPlan": Hook(_plan_create, _plan_delete),
    "AWS::Scheduler::ScheduleGroup": Hook(_schedule_group_create, _schedule_group_delete),
    "AWS::ElastiCache::SubnetGroup": Hook(_cache_subnet_group_create, _cache_subnet_group_delete),
    "AWS::ResourceGroups::Group": Hook(_resource_group_create, _resource_group_delete),
    "AWS::Cognito::UserPool": Hook(_user_pool_create, _user_pool_delete),
    "AWS::ApiGatewayV2::Api": Hook(_http_api_create, _http_api_delete),
    "AWS::ApiGateway::UsagePlan": Hook(_usage_plan_create, _usage_plan_delete),
    "AWS::SES::ConfigurationSet": Hook(_config_set_create, _config_set_delete),
}
