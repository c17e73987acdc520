"""CloudFormation's IAM resources as AWS deploys them, where moto falls short of what
`kirikae accounts bootstrap --format cloudformation` emits (the story's seed deploys those
templates, so the structure the demo and tests use is the one bootstrap emits):

- `AWS::IAM::Group`: moto skips it ("No Moto CloudFormation support") and then fails the stack on
  the template's `Fn::GetAtt [Group, Arn]` output. Here it is made: name, path, inline `Policies`,
  `ManagedPolicyArns`; `Arn` as its attribute; deleted with the stack.
- `AWS::IAM::Role`: moto ignores `ManagedPolicyArns` (the role is made with nothing attached) and
  keeps inline `Policies` as Python objects rather than JSON documents; on delete it does not
  detach managed policies, so IAM's DeleteConflict would fail the stack's deletion.
"""

from __future__ import annotations

import json
from typing import Any

from .settings import EmulatorSettings

PARTITION = "aws"


def _document(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _backend(account_id: str):
    from moto.iam.models import iam_backends

    return iam_backends[account_id][PARTITION]


def _group_model():
    from moto.core.common_models import CloudFormationModel

    class Group(CloudFormationModel):
        """A stack's handle on an IAM group (moto's own Group is not a CloudFormation model)."""

        def __init__(self, group):
            self.group = group

        @staticmethod
        def cloudformation_name_type() -> str:
            return "GroupName"

        @staticmethod
        def cloudformation_type() -> str:
            # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-group.html
            return "AWS::IAM::Group"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            if attribute_name == "Arn":
                return self.group.arn
            raise UnformattedGetAttTemplateException()

        @property
        def physical_resource_id(self) -> str:
            return self.group.name

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
            **kwargs: Any,
        ):
            properties = cloudformation_json.get("Properties", {})
            backend = _backend(account_id)
            name = properties.get("GroupName", resource_name)
            group = backend.create_group(name, properties.get("Path", "/"))
            for policy in properties.get("Policies", []):
                backend.put_group_policy(name, policy["PolicyName"], _document(policy["PolicyDocument"]))
            for arn in properties.get("ManagedPolicyArns", []):
                backend.attach_group_policy(arn, name)
            return cls(group)

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[misc]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        ) -> None:
            backend = _backend(account_id)
            group = backend.get_group(resource_name)
            for arn in list(group.managed_policies):
                backend.detach_group_policy(arn, resource_name)
            for policy in list(group.policies):
                backend.delete_group_policy(resource_name, policy)
            for user in list(group.users):
                backend.remove_user_from_group(resource_name, user.name)
            backend.delete_group(resource_name)

    return Group


def _patch_role() -> None:
    from moto.iam.models import Role

    original_create = Role.create_from_cloudformation_json.__func__
    original_delete = Role.delete_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        documents = dict(cloudformation_json)
        documents["Properties"] = {
            **properties,
            "Policies": [
                {**p, "PolicyDocument": _document(p["PolicyDocument"])} for p in properties.get("Policies", [])
            ],
        }
        role = original_create(cls, resource_name, documents, account_id, region_name, **kwargs)
        for arn in properties.get("ManagedPolicyArns", []):
            _backend(account_id).attach_role_policy(arn, role.name)
        return role

    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = _backend(account_id)
        role = next((r for r in backend.roles.values() if r.name == resource_name), None)
        if role is not None:
            for arn in list(role.managed_policies):
                backend.detach_role_policy(arn, resource_name)
        return original_delete(cls, resource_name, cloudformation_json, account_id, region_name)

    Role.create_from_cloudformation_json = classmethod(create)
    Role.delete_from_cloudformation_json = classmethod(delete)


# CloudFormationModel.__subclasses__() holds its subclasses weakly: keep the group model alive.
_GROUP_MODEL = None


def install(settings: EmulatorSettings) -> None:
    global _GROUP_MODEL
    from moto.cloudformation import parsing

    if _GROUP_MODEL is not None:
        return
    _GROUP_MODEL = _group_model()
    _patch_role()
    # moto looks types up in a cached map of CloudFormationModel's subclasses.
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
