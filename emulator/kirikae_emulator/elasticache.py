"""ElastiCache: cache cluster deletion finishes, as on AWS (moto 5.2.5 marks a deleted cluster
`deleting` and keeps it forever, so a sweep waiting for it to go would wait in vain).

What changes:
- DescribeCacheClusters shows a deleted cluster as `deleting` once, then no more (the next
  describe no longer lists it; asked for by id, it is CacheClusterNotFound); its tags go with it.
- DeleteCacheCluster on a cluster already `deleting` is refused with
  `InvalidCacheClusterState`, as on AWS.
- DescribeCacheClusters shows a cluster's VPC security groups (`SecurityGroups`), which moto
  stores but leaves out.
- DescribeCacheClusters shows each node (`CacheNodes`, with `CustomerAvailabilityZone`), which
  moto leaves out: nodes are placed over `PreferredAvailabilityZones` in turn (memcached with
  AZMode cross-az), else in `PreferredAvailabilityZone`, else in the region's first AZ.

What still differs from AWS: no final snapshot is taken (moto ignores FinalSnapshotIdentifier);
clusters create no network interfaces, so they never hold a subnet or security group.
"""

from __future__ import annotations

from typing import Any

from .settings import EmulatorSettings

_ORIG: dict[str, Any] = {}


def _invalid_state(cluster_id: str):
    from moto.elasticache.exceptions import ElastiCacheException

    return ElastiCacheException("InvalidCacheClusterStateFault", f"Cache cluster {cluster_id} is not in available state.")


def delete_cache_cluster(self, cache_cluster_id: str):
    cluster = self.cache_clusters.get(cache_cluster_id)
    if cluster is not None and cluster.cache_cluster_status == "deleting":
        raise _invalid_state(cache_cluster_id)
    return _ORIG["delete_cache_cluster"](self, cache_cluster_id)


def describe_cache_clusters(self, cache_cluster_id: str | None = None):
    # A cluster seen `deleting` by an earlier describe is gone now.
    for cid, cluster in list(self.cache_clusters.items()):
        if cluster.cache_cluster_status == "deleting" and getattr(cluster, "kemu_deleting_seen", False):
            del self.cache_clusters[cid]
            self.tagging_service.delete_all_tags_for_resource(cluster.arn)
    result = _ORIG["describe_cache_clusters"](self, cache_cluster_id)
    for cluster in result:
        if cluster.cache_cluster_status == "deleting":
            cluster.kemu_deleting_seen = True
    return result


def _cache_nodes(self) -> list[dict]:
    region = self.arn.split(":")[3]
    zones = list(self.preferred_availability_zones or [])
    if not zones:
        zones = [self.preferred_availability_zone or f"{region}a"]
    return [{"CacheNodeId": f"{i + 1:04d}", "CacheNodeStatus": "available",
             "CustomerAvailabilityZone": zones[i % len(zones)]}
            for i in range(int(self.num_cache_nodes or 1))]


def install(settings: EmulatorSettings) -> None:  # noqa: ARG001 - the extension interface
    from moto.elasticache.models import CacheCluster, ElastiCacheBackend

    if _ORIG:
        return
    CacheCluster.security_groups = property(
        lambda self: [{"SecurityGroupId": g, "Status": "active"} for g in self.security_group_ids or []])
    CacheCluster.cache_nodes = property(_cache_nodes)
    for name, fn in (("delete_cache_cluster", delete_cache_cluster), ("describe_cache_clusters", describe_cache_clusters)):
        _ORIG[name] = getattr(ElastiCacheBackend, name)
        setattr(ElastiCacheBackend, name, fn)
