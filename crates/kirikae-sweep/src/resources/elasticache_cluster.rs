//! ElastiCache cache cluster (Memcached, or a Redis/Valkey cluster outside any replication
//! group). Uses its cache subnet group and its VPC security groups. A Redis or Valkey cluster
//! gets a final snapshot `<id>-final-<unix time>` unless `--skip-final-snapshot` (Memcached has
//! none). A member of a replication group is shown but goes with its group, which AWS deletes
//! on its own terms: deleting it alone is refused. Deletion is asynchronous (`deleting`), so the
//! cluster is re-listed until it is gone. Tags come from the Tagging API.

use super::{
    ec2_arn, final_snapshot_action, final_snapshot_name, paginate, request_id, secs, DeleteOptions,
    Deleted, Fut, ResourceType,
};
use crate::{Cx, Found, SweepError};

pub struct CacheCluster;

impl ResourceType for CacheCluster {
    fn name(&self) -> &'static str {
        "elasticache:cluster"
    }
    fn service(&self) -> &'static str {
        "elasticache"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("elasticache", "cluster:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |marker| async move {
            let page = aws_call!(
                cx,
                "elasticache",
                "DescribeCacheClusters",
                cx.elasticache()
                    .describe_cache_clusters()
                    .set_marker(marker.clone())
            )?;
            let mut out = Vec::new();
            for c in page.cache_clusters() {
                let Some(id) = c.cache_cluster_id() else {
                    continue;
                };
                let arn = c
                    .arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| cx.arn("elasticache", &format!("cluster:{id}")));
                let subnet_group = c.cache_subnet_group_name().unwrap_or("");
                let mut f = Found::new(self.name(), &cx.region, id, arn)
                    .prop("engine", c.engine().unwrap_or(""))
                    .prop("engine_version", c.engine_version().unwrap_or(""))
                    .prop("node_type", c.cache_node_type().unwrap_or(""))
                    .prop("nodes", c.num_cache_nodes().unwrap_or(0))
                    .prop("subnet_group", subnet_group)
                    .prop("replication_group", c.replication_group_id().unwrap_or(""));
                f.name = Some(id.to_string());
                f.created = secs(c.cache_cluster_create_time());
                f.state = c.cache_cluster_status().map(str::to_string);
                if !subnet_group.is_empty() && subnet_group != "default" {
                    f.depends_on
                        .push(cx.arn("elasticache", &format!("subnetgroup:{subnet_group}")));
                }
                for g in c.security_groups() {
                    if let Some(g) = g.security_group_id() {
                        f.depends_on.push(ec2_arn(cx, "security-group", g));
                    }
                }
                out.push(f);
            }
            Ok((out, page.marker().map(str::to_string)))
        }))
    }

    fn delete<'a>(
        &'a self,
        cx: &'a Cx,
        item: &'a Found,
        opts: &'a DeleteOptions,
    ) -> Fut<'a, Deleted> {
        Box::pin(async move {
            if let Some(group) = item
                .properties
                .get("replication_group")
                .filter(|g| !g.is_empty())
            {
                return Err(SweepError::Refused(format!(
                    "{}: a member of replication group {group}, which is deleted as a whole \
                     (not by kirikae sweep yet): delete the group, then scan again",
                    item.id
                )));
            }
            let engine = item.properties.get("engine").map(String::as_str);
            let snapshots = matches!(engine, Some("redis" | "valkey"));
            let final_snapshot =
                (snapshots && !opts.skip_final_snapshot).then(|| final_snapshot_name(&item.id));
            let out = aws_call!(
                cx,
                "elasticache",
                "DeleteCacheCluster",
                cx.elasticache()
                    .delete_cache_cluster()
                    .cache_cluster_id(&item.id)
                    .set_final_snapshot_identifier(final_snapshot.clone())
            )?;
            let mut actions = Vec::new();
            if snapshots {
                actions.push(final_snapshot_action("final snapshot", final_snapshot));
            }
            Ok(Deleted {
                request_id: request_id(&out),
                actions,
            })
        })
    }

    fn deletion_is_async(&self) -> bool {
        true
    }

    fn is_deleting(&self, found: &Found) -> bool {
        found.state.as_deref() == Some("deleting")
    }
}
