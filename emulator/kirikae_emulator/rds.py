"""kirikae's additions to moto's RDS (see emulator/README-rds.md):

* cross-account DB cluster snapshots: share (ModifyDBClusterSnapshotAttribute restore), list
  (DescribeDBClusterSnapshots IncludeShared / SnapshotType=shared / by ARN), restore and copy by
  ARN from another account - only once shared, and never for snapshots encrypted with the
  owner's default `aws/rds` key; CopyDBClusterSnapshot KmsKeyId re-encrypts;
* cross-account clones (RestoreDBClusterToPointInTime copy-on-write with a foreign cluster ARN),
  authorised by an AWS RAM resource share, limited to one per source cluster and target account
  (and 15 per source cluster in all);
* DeleteDBCluster lists the cluster as `deleting` from the moment it is accepted and refuses a
  second one then (InvalidDBClusterStateFault), as AWS does; moto listed it as before until its
  final snapshot was taken;
* the data plane (dataplane.py): each cluster's data is a real local MariaDB/PostgreSQL database;
* endpoints (endpoints.py): with settings.endpoints = "realistic", clusters and instances report
  AWS's names (which do not resolve) and the engine's port; GET /_kirikae/resolve says where a
  name really lives (for the bastion, bastion.py). "loopback" reports the private server itself.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.rds import models as rds_models
from moto.rds import responses as rds_responses
from moto.rds.exceptions import (
    DBClusterNotFoundError,
    DBClusterSnapshotNotFoundError,
    InvalidDBClusterStateFault,
    InvalidParameterCombination,
    InvalidParameterValue,
    KMSKeyNotAccessibleFault,
)
from moto.rds.models import DBCluster, DBClusterSnapshot, DBInstanceClustered, RDSBackend, rds_backends
from moto.rds.utils import split_arn

from . import dataplane, endpoints, protocol
from .settings import EmulatorSettings

DEFAULT_KEY_ALIAS = "alias/aws/rds"
MAX_CROSS_ACCOUNT_CLONES = 15

_ORIG: dict[str, Any] = {}
_pending = threading.local()  # data source of the cluster create_db_cluster is about to make


# --------------------------------------------------------------------------- data references


@dataclass
class ClusterData:
    family: str
    name: str  # database name == user name


@dataclass
class SnapshotData:
    family: str
    name: str  # snapshot database (and, on PostgreSQL, the NOLOGIN role owning its objects)
    refs: int = 1  # snapshots (copies, also in other accounts) sharing this database


@dataclass
class _Source:
    kind: str  # "snapshot" | "cluster" | "none"
    data: Any = None
    password: str | None = None
    extra: dict = field(default_factory=dict)


def _cluster_password(cluster: DBCluster) -> str:
    pw = getattr(cluster, "_master_user_password", None)
    if pw:
        return pw
    secret = getattr(cluster, "master_user_secret", None)
    if secret is not None:
        try:
            return json.loads(secret.secret.secret_string)["password"]
        except Exception:
            pass
    return ""


def _find_cluster_by_resource_id(account: str, region: str, resource_id: str) -> DBCluster | None:
    backend = rds_backends[account][region]
    for c in backend.clusters.values():
        if c.db_cluster_resource_id == resource_id:
            return c
    return None


# --------------------------------------------------------------------------- KMS helpers


def _normalise_kms_key(backend: RDSBackend, key_id: str) -> str:
    """Key id / alias / ARN -> key ARN (KMSKeyNotAccessibleFault if unknown)."""
    if key_id.startswith("arn:") and ":alias/" not in key_id:
        return backend._validate_kms_key(key_id)
    try:
        return backend.kms.describe_key(key_id).arn
    except Exception:
        raise KMSKeyNotAccessibleFault(key_id)


def _default_key_arn(backend: RDSBackend) -> str:
    return backend.kms.describe_key(DEFAULT_KEY_ALIAS).arn


def _is_default_key(key: str | None, owner_account: str, region: str) -> bool:
    if not key or key == "default_kms_key_id":
        return True
    from moto.kms.models import kms_backends

    account, reg = owner_account, region
    if key.startswith("arn:"):
        parts = key.split(":")
        reg, account = parts[3], parts[4]
    try:
        k = kms_backends[account][reg].describe_key(key)
    except Exception:
        return False
    return DEFAULT_KEY_ALIAS in k.aliases


# --------------------------------------------------------------------------- lookups across accounts


def _resolve_cluster_snapshot(backend: RDSBackend, identifier: str) -> DBClusterSnapshot:
    """A cluster snapshot by id (this account) or ARN (any account that shared it with us)."""
    if identifier.startswith("arn:"):
        try:
            region, account, rtype, name = split_arn(identifier)
        except ValueError:
            raise DBClusterSnapshotNotFoundError(identifier)
        if rtype != "cluster-snapshot" or region != backend.region_name:
            raise DBClusterSnapshotNotFoundError(identifier)
        owner = rds_backends[account][region]
        snap = owner.cluster_snapshots.get(name)
        if snap is None:
            raise DBClusterSnapshotNotFoundError(identifier)
        if account != backend.account_id:
            allowed = snap.attributes.get("restore", [])
            if backend.account_id not in allowed and "all" not in allowed:
                raise DBClusterSnapshotNotFoundError(identifier)
        return snap
    snap = backend.cluster_snapshots.get(identifier)
    if snap is None:
        raise DBClusterSnapshotNotFoundError(identifier)
    return snap


def _snapshot_owner(snap: DBClusterSnapshot) -> str:
    return snap.account_id


def _ram_shared_with(owner_account: str, region: str, cluster_arn: str, principal_account: str) -> bool:
    from moto.ram.models import ram_backends

    from . import ram as ram_ext

    ram = ram_backends[owner_account][region]
    for share in ram.resource_shares:
        if share.status != "ACTIVE":
            continue
        # an account with a pending (or rejected, expired) invitation is not reached yet
        if cluster_arn in share.resource_arns and principal_account in ram_ext.principal_accounts(share):
            return True
    return False


def _clusters_shared_with(backend: RDSBackend) -> list[DBCluster]:
    from moto.ram.models import ram_backends

    from . import ram as ram_ext

    found = []
    for account, per_region in list(ram_backends.items()):
        if account == backend.account_id or backend.region_name not in per_region:
            continue
        for share in per_region[backend.region_name].resource_shares:
            if share.status != "ACTIVE" or backend.account_id not in ram_ext.principal_accounts(share):
                continue
            for arn in share.resource_arns:
                try:
                    region, acct, rtype, name = split_arn(arn)
                except ValueError:
                    continue
                if rtype == "cluster" and region == backend.region_name:
                    c = rds_backends[acct][region].clusters.get(name)
                    if c is not None and c not in found:
                        found.append(c)
    return found


# --------------------------------------------------------------------------- backend patches


def create_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
    source: _Source = getattr(_pending, "source", None) or _Source("none")
    _pending.source = None
    kwargs = dict(kwargs)
    if kwargs.get("storage_encrypted") or kwargs.get("kms_key_id"):
        key = kwargs.get("kms_key_id")
        if not key or key == "default_kms_key_id":
            kwargs["kms_key_id"] = _default_key_arn(self)
        elif not (key.startswith("arn:") and key.split(":")[4] != self.account_id):
            kwargs["kms_key_id"] = _normalise_kms_key(self, key)
        kwargs["storage_encrypted"] = True
    requested_db = kwargs.get("database_name")
    if kwargs.get("db_cluster_identifier") in self.clusters:
        raise rds_models.RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
    cluster: DBCluster = _ORIG["create_db_cluster"](self, kwargs)
    fam = dataplane.family(cluster.engine)
    cluster.kemu_data = None
    cluster.kemu_requested_database_name = requested_db
    if fam is None:
        return cluster
    name = dataplane.allocate_name(fam, self.account_id, cluster.db_cluster_identifier)
    password = source.password if source.password is not None else _cluster_password(cluster)
    try:
        if source.kind == "snapshot":
            data: SnapshotData = source.data
            dataplane.create_user_for(fam, name, password)
            dataplane.copy_database(fam, data.name, name, dst_owner=name, src_owner=data.name)
        elif source.kind == "cluster":
            src: ClusterData = source.data
            dataplane.create_user_for(fam, name, password)
            dataplane.copy_database(fam, src.name, name, dst_owner=name, src_owner=src.name)
        else:
            dataplane.create_cluster_database(fam, name, password)
    except BaseException:
        try:
            dataplane.drop_database(fam, name, name)
        finally:
            dataplane.release_name(name)
            self.clusters.pop(cluster.db_cluster_identifier, None)
        raise
    cluster.kemu_data = ClusterData(fam, name)
    cluster.database_name = name
    cluster.master_username = name
    return cluster


def delete_db_cluster(self: RDSBackend, cluster_identifier: str, snapshot_name: str | None = None) -> DBCluster:
    # AWS lists a cluster as `deleting` from the moment it accepts DeleteDBCluster, and refuses a
    # second one then. moto takes the final snapshot inside the call and lists the cluster as
    # before until it returns, so a caller listing meanwhile (a sweep resumed after a kill cut off
    # its own call) saw an `available` cluster and deleted it again.
    cluster = self.clusters.get(cluster_identifier)
    accepted = cluster is not None and not cluster.deletion_protection and not cluster.members
    if cluster is not None and cluster.status == "deleting":
        raise InvalidDBClusterStateFault(
            f"Cluster {cluster_identifier} cannot be deleted, it is currently in deleting state.")
    previous = cluster.status if cluster is not None else None
    if accepted:
        cluster.status = "deleting"
    try:
        cluster = _ORIG["delete_db_cluster"](self, cluster_identifier, snapshot_name)
    except Exception:
        if accepted:
            cluster.status = previous
        raise
    data: ClusterData | None = getattr(cluster, "kemu_data", None)
    if data is not None:
        dataplane.drop_database(data.family, data.name, data.name)
        dataplane.release_name(data.name)
    return cluster


def modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
    cluster_id = kwargs["db_cluster_identifier"]
    if cluster_id not in self.clusters:
        raise DBClusterNotFoundError(cluster_id)
    new_id = kwargs.get("new_db_cluster_identifier")
    if new_id and new_id.lower() != cluster_id.lower() and new_id in self.clusters:
        raise rds_models.RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
    cluster = self.clusters[cluster_id]
    old_password = _cluster_password(cluster)
    # moto links instances to a cluster by its identifier: after a rename they would belong to
    # whichever cluster takes the old name next. On AWS a renamed cluster keeps its instances.
    members = list(cluster._members) if new_id else []
    result = _ORIG["modify_db_cluster"](self, kwargs)
    if new_id:
        for instance in members:
            instance.db_cluster_identifier = result.db_cluster_identifier
    data: ClusterData | None = getattr(cluster, "kemu_data", None)
    if data is not None:
        new_password = _cluster_password(cluster)
        if new_password and new_password != old_password:
            dataplane.set_password(data.family, data.name, new_password)
    return result


def create_db_cluster_snapshot(self: RDSBackend, db_cluster_identifier: str, db_cluster_snapshot_identifier: str,
                               snapshot_type: str = "manual", tags: list[dict[str, str]] | None = None) -> DBClusterSnapshot:
    snap: DBClusterSnapshot = _ORIG["create_db_cluster_snapshot"](
        self, db_cluster_identifier, db_cluster_snapshot_identifier, snapshot_type, tags)
    cluster = self.clusters[db_cluster_identifier]
    snap.kemu_data = None
    snap.kemu_source_cluster = (self.account_id, self.region_name, cluster.db_cluster_resource_id)
    snap.kemu_password = _cluster_password(cluster)
    data: ClusterData | None = getattr(cluster, "kemu_data", None)
    if data is not None and snapshot_type == "manual":
        try:
            snap.kemu_data = _snapshot_cluster_data(self.account_id, snap.db_cluster_snapshot_identifier, data)
        except BaseException:
            self.cluster_snapshots.pop(snap.db_cluster_snapshot_identifier, None)
            raise
    return snap


def create_auto_cluster_snapshot(self: RDSBackend, db_cluster_identifier: str,
                                 db_snapshot_identifier: str) -> DBClusterSnapshot:
    # moto names automated snapshots rds:<cluster>-<minute>: a cluster re-created under the same
    # identifier within a minute (after a rename or delete) must not fail on that.
    base, n = db_snapshot_identifier, 1
    while db_snapshot_identifier in self.cluster_snapshots:
        n += 1
        db_snapshot_identifier = f"{base}-{n}"
    return _ORIG["create_auto_cluster_snapshot"](self, db_cluster_identifier, db_snapshot_identifier)


def _snapshot_cluster_data(account: str, snapshot_id: str, data: ClusterData) -> SnapshotData:
    name = dataplane.allocate_name(data.family, account, snapshot_id, kind="s")
    try:
        dataplane.create_owner_role(data.family, name)
        dataplane.copy_database(data.family, data.name, name, dst_owner=name, src_owner=data.name)
    except BaseException:
        dataplane.drop_database(data.family, name, name if data.family == "postgres" else None)
        dataplane.release_name(name)
        raise
    return SnapshotData(data.family, name)


def _release_snapshot_data(data: SnapshotData | None) -> None:
    if data is None:
        return
    data.refs -= 1
    if data.refs <= 0:
        dataplane.drop_database(data.family, data.name, data.name if data.family == "postgres" else None)
        dataplane.release_name(data.name)


def delete_db_cluster_snapshot(self: RDSBackend, db_snapshot_identifier: str) -> DBClusterSnapshot:
    snap = _ORIG["delete_db_cluster_snapshot"](self, db_snapshot_identifier)
    _release_snapshot_data(getattr(snap, "kemu_data", None))
    snap.kemu_data = None
    return snap


def _data_source_of_snapshot(snap: DBClusterSnapshot) -> _Source:
    """Where a restore from `snap` gets its data: the snapshot's database, or for an automated
    snapshot (which holds no copy here) the source cluster's current data."""
    password = getattr(snap, "kemu_password", None)
    if password is None:
        password = _cluster_password(snap.cluster)
    data = getattr(snap, "kemu_data", None)
    if data is not None:
        return _Source("snapshot", data, password)
    src = getattr(snap, "kemu_source_cluster", None)
    if src is not None:
        cluster = _find_cluster_by_resource_id(*src)
        if cluster is not None and getattr(cluster, "kemu_data", None) is not None:
            return _Source("cluster", cluster.kemu_data, password)
    return _Source("none", None, password)


def copy_db_cluster_snapshot(self: RDSBackend, source_db_cluster_snapshot_identifier: str,
                             target_db_cluster_snapshot_identifier: str, kms_key_id: str | None = None,
                             copy_tags: bool = False, tags: list[dict[str, str]] | None = None,
                             **_: Any) -> DBClusterSnapshot:
    if target_db_cluster_snapshot_identifier in self.cluster_snapshots:
        raise rds_models.DBClusterSnapshotAlreadyExistsError(target_db_cluster_snapshot_identifier)
    if len(self.cluster_snapshots) >= self.SNAPSHOT_QUOTA:
        raise rds_models.SnapshotQuotaExceededFault()
    source = _resolve_cluster_snapshot(self, source_db_cluster_snapshot_identifier)
    owner = _snapshot_owner(source)
    foreign = owner != self.account_id
    if foreign and source.encrypted:
        if _is_default_key(source.kms_key_id, owner, source.region):
            raise KMSKeyNotAccessibleFault(source.kms_key_id)
        if not kms_key_id:
            # AWS: "If you copy an encrypted DB cluster snapshot that is shared from another
            # AWS account, then you must specify a value for KmsKeyId."
            raise KMSKeyNotAccessibleFault("None")
    if kms_key_id is not None:
        kms_key_id = _normalise_kms_key(self, kms_key_id)
    if copy_tags and not tags:
        tags = source.tags or []
    target = DBClusterSnapshot(self, source.cluster, target_db_cluster_snapshot_identifier,
                               tags=tags, kms_key_id=kms_key_id)
    src = _data_source_of_snapshot(source)
    target.kemu_password = src.password
    target.kemu_source_cluster = getattr(source, "kemu_source_cluster", None)
    target.kemu_data = None
    if src.kind == "snapshot":
        src.data.refs += 1  # the copy shares the (immutable) snapshot database
        target.kemu_data = src.data
    elif src.kind == "cluster":
        target.kemu_data = _snapshot_cluster_data(self.account_id, target_db_cluster_snapshot_identifier, src.data)
    self.cluster_snapshots[target_db_cluster_snapshot_identifier] = target
    return target


def modify_db_cluster_snapshot_attribute(self: RDSBackend, db_cluster_snapshot_identifier: str, attribute_name: str,
                                         values_to_add: list[str] | None = None,
                                         values_to_remove: list[str] | None = None) -> dict[str, list[str]]:
    snap = self.cluster_snapshots.get(db_cluster_snapshot_identifier)
    if snap is None:
        raise DBClusterSnapshotNotFoundError(db_cluster_snapshot_identifier)
    others = [v for v in (values_to_add or []) if v != self.account_id]
    if attribute_name == "restore" and others and snap.encrypted:
        if "all" in others:
            raise InvalidParameterValue(
                "Encrypted DB cluster snapshots can't be shared publicly: share them with specific AWS account IDs.")
        if _is_default_key(snap.kms_key_id, self.account_id, self.region_name):
            raise InvalidParameterValue(
                f"The DB cluster snapshot {db_cluster_snapshot_identifier} is encrypted with the default KMS key "
                f"(aws/rds) of this account and can't be shared. Copy it with a customer managed KMS key "
                f"and share the copy.")
    return _ORIG["modify_db_cluster_snapshot_attribute"](
        self, db_cluster_snapshot_identifier, attribute_name, values_to_add, values_to_remove)


def describe_db_cluster_snapshots(self: RDSBackend, db_cluster_identifier: str | None, db_snapshot_identifier: str,
                                  snapshot_type: str | None = None, filters: Any = None) -> list[DBClusterSnapshot]:
    if db_snapshot_identifier and db_snapshot_identifier.startswith("arn:"):
        return [_resolve_cluster_snapshot(self, db_snapshot_identifier)]
    return _ORIG["describe_db_cluster_snapshots"](self, db_cluster_identifier, db_snapshot_identifier,
                                                  snapshot_type, filters)


def _new_cluster_props(source_cfg: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Properties of a cluster made from a snapshot or clone: what AWS takes from the source
    (engine, version, master user and password, encryption) plus the request; network settings,
    parameter group, tags and deletion protection come from the request only (AWS defaults)."""
    props = dict(source_cfg)
    props["port"] = props.pop("kemu_aws_port", None)  # the port property's storage (see _cluster_port)
    for key in ("db_subnet_group_name", "vpc_security_group_ids", "tags", "_tags", "parameter_group",
                "db_cluster_parameter_group_name", "deletion_protection", "master_user_secret",
                "manage_master_user_password", "kemu_data", "kemu_requested_database_name",
                "global_cluster_identifier", "replication_source_identifier", "read_replica_identifiers"):
        props.pop(key, None)
    props["db_subnet_group_name"] = "default"
    props["deletion_protection"] = False
    for key, value in overrides.items():
        if value is not None and value != "" and value != []:
            props[key] = value
    return props


def restore_db_cluster_from_snapshot(self: RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> DBCluster:
    snap = _resolve_cluster_snapshot(self, from_snapshot_id)
    owner = _snapshot_owner(snap)
    if owner != self.account_id and snap.encrypted and _is_default_key(snap.kms_key_id, owner, snap.region):
        raise KMSKeyNotAccessibleFault(snap.kms_key_id)
    cluster_id = overrides.get("db_cluster_identifier")
    if cluster_id in self.clusters:
        raise rds_models.RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
    src = _data_source_of_snapshot(snap)
    cfg = snap.cluster.get_cfg() if hasattr(snap.cluster, "_master_user_password") else _cfg_without_password(snap.cluster)
    cfg["master_user_password"] = src.password or cfg.get("master_user_password")
    cfg["kms_key_id"] = snap.kms_key_id
    cfg["storage_encrypted"] = snap.encrypted
    overrides = {k: v for k, v in overrides.items() if k not in ("snapshot_identifier",)}
    props = _new_cluster_props(cfg, overrides)
    _pending.source = src
    try:
        return self.create_db_cluster(props)
    finally:
        _pending.source = None


def _cfg_without_password(cluster: DBCluster) -> dict[str, Any]:
    cluster._master_user_password = _cluster_password(cluster) or "kemu-no-password"
    return cluster.get_cfg()


def restore_db_cluster_to_point_in_time(self: RDSBackend, db_cluster_identifier: str, source_db_cluster_identifier: str,
                                        restore_type: str = "full-copy", restore_to_time: Any = None,
                                        use_latest_restorable_time: bool = False, **overrides: Any) -> DBCluster:
    if restore_to_time is not None and use_latest_restorable_time:
        raise InvalidParameterCombination("Cannot specify both RestoreToTime and UseLatestRestorableTime")
    if restore_to_time is not None and restore_type == "copy-on-write":
        raise InvalidParameterCombination("RestoreToTime cannot be specified when RestoreType is copy-on-write")
    if db_cluster_identifier in self.clusters:
        raise rds_models.RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
    source = _resolve_source_cluster(self, source_db_cluster_identifier, restore_type)
    cross_account = source.account_id != self.account_id
    if cross_account:
        _check_clone_limits(self, source, source_db_cluster_identifier)
    cfg = source.get_cfg() if hasattr(source, "_master_user_password") else _cfg_without_password(source)
    props = _new_cluster_props(cfg, overrides)
    if overrides.get("kms_key_id"):
        props["storage_encrypted"] = True
    props["db_cluster_identifier"] = db_cluster_identifier
    data = getattr(source, "kemu_data", None)
    _pending.source = _Source("cluster" if data is not None else "none", data, _cluster_password(source))
    try:
        clone = self.create_db_cluster(props)
    finally:
        _pending.source = None
    clone.kemu_clone_of = source.db_cluster_resource_id if restore_type == "copy-on-write" else None
    clone.kemu_cross_account_clone = cross_account
    return clone


def _resolve_source_cluster(self: RDSBackend, identifier: str, restore_type: str) -> DBCluster:
    if not identifier.startswith("arn:"):
        cluster = self.clusters.get(identifier)
        if cluster is None:
            raise DBClusterNotFoundError(identifier)
        return cluster
    try:
        region, account, rtype, name = split_arn(identifier)
    except ValueError:
        raise DBClusterNotFoundError(identifier)
    cluster = rds_backends[account][region].clusters.get(name) if rtype == "cluster" else None
    if cluster is None or region != self.region_name:
        raise DBClusterNotFoundError(identifier)
    if account == self.account_id:
        return cluster
    if not _ram_shared_with(account, region, cluster.db_cluster_arn, self.account_id):
        raise DBClusterNotFoundError(
            identifier, f"The source cluster could not be found or cannot be accessed: {identifier}")
    if restore_type != "copy-on-write":
        raise InvalidParameterCombination(
            "A DB cluster shared from another AWS account can only be cloned: use RestoreType copy-on-write.")
    if cluster.storage_encrypted and _is_default_key(cluster.kms_key_id, account, region):
        raise KMSKeyNotAccessibleFault(cluster.kms_key_id)
    return cluster


def _check_clone_limits(self: RDSBackend, source: DBCluster, source_arn: str) -> None:
    in_all: list[tuple[str, DBCluster]] = []
    for account, per_region in list(rds_backends.items()):
        if self.region_name not in per_region:
            continue
        for c in per_region[self.region_name].clusters.values():
            if getattr(c, "kemu_cross_account_clone", False) and getattr(c, "kemu_clone_of", None) == source.db_cluster_resource_id:
                in_all.append((account, c))
    mine = [c for account, c in in_all if account == self.account_id]
    if mine:
        raise InvalidDBClusterStateFault(
            f"A cross-account clone of DB cluster {source_arn} already exists in account {self.account_id} "
            f"({mine[0].db_cluster_identifier}). Aurora allows only one cross-account clone of a DB cluster "
            f"per AWS account: delete it first, or restore from a shared snapshot instead.")
    if len(in_all) >= MAX_CROSS_ACCOUNT_CLONES:
        raise InvalidDBClusterStateFault(
            f"DB cluster {source_arn} already has {len(in_all)} cross-account clones, the maximum "
            f"({MAX_CROSS_ACCOUNT_CLONES}).")


# --------------------------------------------------------------------------- model property patches


def _loopback_data(self: DBCluster) -> ClusterData | None:
    """The cluster's data when the emulator reports the private server itself (endpoints =
    "loopback"); None when it reports AWS's names."""
    data = getattr(self, "kemu_data", None)
    if data is None or dataplane.settings().realistic_endpoints:
        return None
    return data


def _cluster_endpoint(self: DBCluster) -> str:
    data = _loopback_data(self)
    if data is not None:
        return dataplane.server_endpoint(data.family)[0]
    return endpoints.cluster_endpoint(self.db_cluster_identifier, self.account_id, self.region)


def _cluster_reader_endpoint(self: DBCluster) -> str:
    data = _loopback_data(self)
    if data is not None:
        return dataplane.server_endpoint(data.family)[0]
    return endpoints.reader_endpoint(self.db_cluster_identifier, self.account_id, self.region)


def _cluster_port(self: DBCluster) -> int | None:
    """The port the cluster reports: the private server's (loopback), else what was asked for or
    the engine's own (3306 / 5432), as on AWS. Stored as `kemu_aws_port`."""
    data = _loopback_data(self)
    if data is not None:
        return dataplane.server_endpoint(data.family)[1]
    return self.__dict__.get("kemu_aws_port")


def _set_cluster_port(self: DBCluster, value: int | None) -> None:
    self.__dict__["kemu_aws_port"] = int(value) if value else endpoints.default_port(self.engine)


def _cluster_cross_account_clone(self: DBCluster) -> bool:
    return bool(getattr(self, "kemu_cross_account_clone", False))


def _instance_data(self: DBInstanceClustered) -> ClusterData | None:
    cluster = getattr(self, "cluster", None)
    return getattr(cluster, "kemu_data", None) if cluster is not None else None


_orig_instance_address = rds_models.DBInstance.address
_orig_instance_endpoint = rds_models.DBInstance.endpoint
_orig_clustered_db_name = DBInstanceClustered.db_name


def _instance_address(self) -> str:
    data = _instance_data(self) if isinstance(self, DBInstanceClustered) else None
    if data is None:
        return _orig_instance_address.fget(self)
    if not dataplane.settings().realistic_endpoints:
        return dataplane.server_endpoint(data.family)[0]
    return endpoints.instance_endpoint(self.db_instance_identifier, self.account_id, self.region)


def _instance_endpoint(self) -> dict[str, Any]:
    data = _instance_data(self) if isinstance(self, DBInstanceClustered) else None
    if data is None:
        return _orig_instance_endpoint.fget(self)
    return {"Address": _instance_address(self), "Port": self.cluster.port}


def _clustered_db_name(self) -> str | None:
    if _instance_data(self) is not None:
        return self.cluster.database_name
    return _orig_clustered_db_name.fget(self)


# --------------------------------------------------------------------------- response patches


def _response_describe_db_cluster_snapshots(self: rds_responses.RDSResponse):
    result = _ORIG["resp_describe_db_cluster_snapshots"](self)
    params = self.params
    if str(params.get("IncludeShared", "")).lower() == "true" and not params.get("SnapshotType") \
            and not params.get("DBClusterSnapshotIdentifier"):
        shared = self.backend.get_shared_db_cluster_snapshots()
        cluster_id = params.get("DBClusterIdentifier")
        if cluster_id:
            shared = [s for s in shared if cluster_id in (s.db_cluster_identifier, s.cluster.db_cluster_arn)]
        result.result["DBClusterSnapshots"] = list(result.result["DBClusterSnapshots"]) + list(shared)
    return result


def _response_describe_db_clusters(self: rds_responses.RDSResponse):
    _id = self.params.get("DBClusterIdentifier")
    if _id and _id.startswith("arn:") and split_arn(_id)[1] != self.current_account:
        shared = [c for c in _clusters_shared_with(self.backend) if c.db_cluster_arn == _id]
        if not shared:
            raise DBClusterNotFoundError(_id)
        return rds_responses.ActionResult({"DBClusters": shared})
    result = _ORIG["resp_describe_db_clusters"](self)
    if str(self.params.get("IncludeShared", "")).lower() == "true" and not _id:
        result.result["DBClusters"] = list(result.result["DBClusters"]) + _clusters_shared_with(self.backend)
    return result


# --------------------------------------------------------------------------- connection info


def connection_info(account: str, region: str, cluster_id: str) -> dataplane.ConnectionInfo:
    cluster = rds_backends[account][region].clusters.get(cluster_id)
    if cluster is None:
        raise LookupError(f"no DB cluster {cluster_id} in account {account} region {region}")
    data: ClusterData | None = getattr(cluster, "kemu_data", None)
    if data is None:
        raise LookupError(f"DB cluster {cluster_id} ({cluster.engine}) has no data plane")
    host, port = dataplane.server_endpoint(data.family)
    return dataplane.ConnectionInfo(data.family, host, port, data.name, _cluster_password(cluster), data.name)


# --------------------------------------------------------------------------- where a name lives

RESOLVE_PATH = "/_kirikae/resolve"


def _cname(name: str) -> str | None:
    """The value of a Route 53 CNAME record called `name` in any hosted zone of any account (the
    emulated VPC resolves them all, as a private hosted zone resolves inside its VPC)."""
    from moto.route53.models import route53_backends

    for _account, per_partition in list(route53_backends.items()):
        for backend in list(per_partition.values()):
            for zone in list(backend.zones.values()):
                for rrset in list(zone.rrsets):
                    if rrset.type == "CNAME" and rrset.name.rstrip(".").lower() == name and rrset.records:
                        value = rrset.records[0]
                        return (value["Value"] if isinstance(value, dict) else str(value)).rstrip(".").lower()
    return None


def resolve(name: str, port: int | None = None, _hops: int = 0) -> dict[str, Any]:
    """Where an endpoint name (a cluster's writer or reader name, or an instance's) really lives:
    {"host", "port"} of the private server, with the cluster, account, region and family.
    A Route 53 CNAME record (the switch-over's name) is followed to the name it points at.
    LookupError (saying why) for a name no live cluster has, or a port it does not listen on.
    The names are AWS's (endpoints.py) whatever the endpoints mode, so they follow renames: after
    ModifyDBCluster NewDBClusterIdentifier the old name answers for whichever cluster has it now."""
    wanted = name.strip().rstrip(".").lower()
    for account, per_region in list(rds_backends.items()):
        for region, backend in list(per_region.items()):
            for cluster in list(backend.clusters.values()):
                names = {endpoints.cluster_endpoint(cluster.db_cluster_identifier, account, region),
                         endpoints.reader_endpoint(cluster.db_cluster_identifier, account, region)}
                names |= {endpoints.instance_endpoint(i.db_instance_identifier, account, region)
                          for i in list(getattr(cluster, "_members", []))}
                if wanted not in names:
                    continue
                data: ClusterData | None = getattr(cluster, "kemu_data", None)
                if data is None:
                    raise LookupError(f"{name} ({cluster.engine}) has no data plane in the emulator")
                aws_port = cluster.__dict__.get("kemu_aws_port")
                if port is not None and aws_port is not None and int(port) != int(aws_port):
                    raise LookupError(f"nothing listens on {name}:{port} (the cluster's port is {aws_port})")
                host, real_port = dataplane.server_endpoint(data.family)
                return {"host": host, "port": real_port, "name": wanted, "cluster": cluster.db_cluster_identifier,
                        "account": account, "region": region, "family": data.family}
    target = _cname(wanted)
    if target is not None and _hops < 8:
        found = resolve(target, port, _hops + 1)
        return {**found, "via": [wanted, *found.get("via", [])]}
    raise LookupError(f"no DB cluster or instance is called {name} (unknown, deleted or renamed)")


def _resolve_route(environ, start_response):
    from urllib.parse import parse_qs

    if environ.get("REQUEST_METHOD", "GET") != "GET":
        return protocol.json_response(start_response, 405, {"error": "GET /_kirikae/resolve?name=NAME&port=PORT"})
    query = parse_qs(environ.get("QUERY_STRING", ""))
    name = (query.get("name") or [""])[0]
    port_text = (query.get("port") or [""])[0]
    if not name:
        return protocol.json_response(start_response, 400, {"error": "missing name: GET /_kirikae/resolve?name=NAME&port=PORT"})
    try:
        port = int(port_text) if port_text else None
    except ValueError:
        return protocol.json_response(start_response, 400, {"error": f"port {port_text!r} is not a number"})
    try:
        return protocol.json_response(start_response, 200, resolve(name, port))
    except LookupError as exc:
        return protocol.json_response(start_response, 404, {"error": str(exc)})


def wrap(app, settings: EmulatorSettings):
    def middleware(environ, start_response):
        if environ.get("PATH_INFO", "") == RESOLVE_PATH:
            return _resolve_route(environ, start_response)
        return app(environ, start_response)

    return middleware


# --------------------------------------------------------------------------- install


def install(settings: EmulatorSettings) -> None:
    dataplane.configure(settings)
    if _ORIG:
        return
    patches = {
        "create_db_cluster": create_db_cluster,
        "delete_db_cluster": delete_db_cluster,
        "modify_db_cluster": modify_db_cluster,
        "create_db_cluster_snapshot": create_db_cluster_snapshot,
        "create_auto_cluster_snapshot": create_auto_cluster_snapshot,
        "delete_db_cluster_snapshot": delete_db_cluster_snapshot,
        "copy_db_cluster_snapshot": copy_db_cluster_snapshot,
        "modify_db_cluster_snapshot_attribute": modify_db_cluster_snapshot_attribute,
        "describe_db_cluster_snapshots": describe_db_cluster_snapshots,
        "restore_db_cluster_from_snapshot": restore_db_cluster_from_snapshot,
        "restore_db_cluster_to_point_in_time": restore_db_cluster_to_point_in_time,
    }
    for name, fn in patches.items():
        _ORIG[name] = getattr(RDSBackend, name)
        setattr(RDSBackend, name, fn)
    DBCluster.endpoint = property(_cluster_endpoint)
    DBCluster.reader_endpoint = property(_cluster_reader_endpoint)
    DBCluster.port = property(_cluster_port, _set_cluster_port)
    DBCluster.cross_account_clone = property(_cluster_cross_account_clone)
    rds_models.DBInstance.address = property(_instance_address)
    rds_models.DBInstance.endpoint = property(_instance_endpoint)
    DBInstanceClustered.db_name = property(_clustered_db_name, _orig_clustered_db_name.fset)
    _ORIG["resp_describe_db_cluster_snapshots"] = rds_responses.RDSResponse.describe_db_cluster_snapshots
    rds_responses.RDSResponse.describe_db_cluster_snapshots = _response_describe_db_cluster_snapshots
    _ORIG["resp_describe_db_clusters"] = rds_responses.RDSResponse.describe_db_clusters
    rds_responses.RDSResponse.describe_db_clusters = _response_describe_db_clusters
    _register_cleanup(settings)


def _register_cleanup(settings: EmulatorSettings) -> None:
    """Drop this instance's databases whenever moto is reset and when the server stops."""
    settings.on_reset(lambda: dataplane.drop_all(settings))
    settings.on_shutdown(lambda: dataplane.drop_all(settings))
