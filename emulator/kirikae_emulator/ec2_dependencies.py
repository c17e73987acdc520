"""EC2 deletions refuse what AWS refuses while something still depends on the resource, so a
sweep's deletion order is really tested (moto 5.2.5 deletes a subnet with interfaces in it, a
security group in use, and detaches an internet gateway from a VPC with public addresses).

What changes, as on AWS:
- DeleteSubnet: `DependencyViolation` while a network interface is in the subnet; a deleted
  subnet's route table association goes with it (moto keeps it, so the table stays undeletable).
- DeleteSecurityGroup: `DependencyViolation` while a network interface carries the group or
  another group's rule refers to it.
- DetachInternetGateway: `DependencyViolation` while an Elastic IP is associated with an interface
  in that VPC ("mapped public addresses").
- DeleteVpc: `DependencyViolation` also while non-default security groups or an attached internet
  gateway remain (moto already refuses subnets and extra route tables).
- A NAT gateway's interface looks like AWS's (requester-managed, type `nat_gateway`, description
  `Interface for NAT Gateway nat-...`); deleting the NAT gateway releases its Elastic IP
  association and deletes that interface (moto keeps both).
- An instance's primary interface is deleted when the instance terminates (moto keeps it);
  terminating an instance already terminated (e.g. by its Auto Scaling group) is a no-op.
- DescribeLaunchTemplates shows the template's current tags (moto shows those it was created
  with, ignoring CreateTags).

Each of these changes, and the route table and address calls that read what they change, runs
under one lock: on AWS a call is atomic, while moto's server answers requests on threads, so a
retried DeleteSubnet (the first attempt slow on a loaded machine) could answer "not found" while
the first was still removing the subnet's association, and a DeleteRouteTable sent at once was
refused.

What still differs from AWS: NAT gateway and instance deletion finish at once (no `deleting` or
`shutting-down` phase); load balancers create no interfaces.
"""

from __future__ import annotations

import copy
import functools
import threading

from .settings import EmulatorSettings

_LOCK = threading.RLock()


def _atomic(fn):
    @functools.wraps(fn)
    def locked(*args, **kwargs):
        with _LOCK:
            return fn(*args, **kwargs)

    return locked


def _violation(message: str):
    from moto.ec2.exceptions import DependencyViolationError

    return DependencyViolationError(message)


def install(settings: EmulatorSettings) -> None:  # noqa: ARG001 - the extension interface
    from moto.ec2.models import EC2Backend
    from moto.ec2.models.instances import Instance
    from moto.ec2.models.launch_templates import LaunchTemplate
    from moto.ec2.models.nat_gateways import NatGateway

    original_delete_subnet = EC2Backend.delete_subnet
    original_delete_sg = EC2Backend.delete_security_group
    original_detach_igw = EC2Backend.detach_internet_gateway
    original_delete_vpc = EC2Backend.delete_vpc
    original_delete_nat = EC2Backend.delete_nat_gateway
    original_nat_init = NatGateway.__init__
    original_terminate = Instance.terminate

    def delete_subnet(self, subnet_id):
        if any(getattr(eni.subnet, "id", None) == subnet_id for eni in self.enis.values()):
            raise _violation(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        subnet = original_delete_subnet(self, subnet_id)
        # As on AWS, the subnet's route table association goes with it.
        for table in self.route_tables.values():
            for association_id, target in list(table._associations.items()):
                if target == subnet_id:
                    del table._associations[association_id]
        return subnet

    def delete_security_group(self, name=None, group_id=None):
        group = self.get_security_group_by_name_or_id(group_id or name)
        if group is not None:
            gid = group.id
            for eni in self.enis.values():
                if any(getattr(g, "id", None) == gid for g in eni.group_set):
                    raise _violation(f"resource {gid} has a dependent object")
            for groups in self.groups.values():
                for other in groups.values():
                    if other.id == gid:
                        continue
                    for rule in list(other.ingress_rules) + list(other.egress_rules):
                        if (rule.source_group or {}).get("GroupId") == gid:
                            raise _violation(f"resource {gid} has a dependent object")
        return original_delete_sg(self, name=name, group_id=group_id)

    def detach_internet_gateway(self, internet_gateway_id, vpc_id):
        for address in self.addresses:
            eni = address.eni
            if eni is not None and getattr(eni.subnet, "vpc_id", None) == vpc_id:
                raise _violation(
                    f"Network {vpc_id} has some mapped public address(es). Please unmap those public "
                    "address(es) before detaching the gateway."
                )
        return original_detach_igw(self, internet_gateway_id, vpc_id)

    def delete_vpc(self, vpc_id):
        for group in self.groups.get(vpc_id, {}).values():
            if group.name != "default":
                raise _violation(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
        for igw in self.internet_gateways.values():
            if igw.vpc is not None and igw.vpc.id == vpc_id:
                raise _violation(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
        return original_delete_vpc(self, vpc_id)

    def nat_init(self, backend, *args, **kwargs):
        original_nat_init(self, backend, *args, **kwargs)
        self._eni.requester_managed = True
        self._eni.interface_type = "nat_gateway"
        self._eni.description = f"Interface for NAT Gateway {self.id}"

    def delete_nat_gateway(self, nat_gateway_id):
        nat = original_delete_nat(self, nat_gateway_id)
        eni = getattr(nat, "_eni", None)
        if eni is not None and eni.id in self.enis:
            for address in self.addresses:
                if address.eni is eni:
                    address.eni = None
                    address.association_id = None
            eni.delete()
        return nat

    def terminate(self, *args, **kwargs):
        # Terminating a terminated instance is a no-op on AWS (an Auto Scaling group's ForceDelete
        # may have got there first); moto would delete its gone interfaces again and fail.
        if self._state.name == "terminated":
            return copy.copy(self._state)
        primary = self.nics.get(0) if isinstance(getattr(self, "nics", None), dict) else None
        if primary is not None:
            primary.delete_on_termination = True
        return original_terminate(self, *args, **kwargs)

    EC2Backend.delete_subnet = _atomic(delete_subnet)
    EC2Backend.delete_security_group = _atomic(delete_security_group)
    EC2Backend.detach_internet_gateway = _atomic(detach_internet_gateway)
    EC2Backend.delete_vpc = _atomic(delete_vpc)
    EC2Backend.delete_nat_gateway = _atomic(delete_nat_gateway)
    NatGateway.__init__ = nat_init
    Instance.terminate = _atomic(terminate)
    # The calls that read what the changes above change wait for them to finish.
    for name in ("delete_route_table", "disassociate_route_table", "release_address", "disassociate_address", "delete_network_interface"):
        setattr(EC2Backend, name, _atomic(getattr(EC2Backend, name)))
    # moto copies the tags once at creation; read them from the tag store instead.
    LaunchTemplate.tags = property(lambda self: self.get_tags(), lambda self, _value: None)
