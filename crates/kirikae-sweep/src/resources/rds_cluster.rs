//! RDS Aurora (and Multi-AZ) DB cluster. Uses its DB subnet group, its cluster parameter group
//! and its VPC security groups; its instances use it, so they go first (each instance names its
//! cluster; the member list is not part of the fingerprint, so a cluster whose instances an
//! interrupted apply already deleted is still the reviewed cluster). Deletion protection is turned off only with `--disable-protection`; a final cluster
//! snapshot `<id>-final-<unix time>` is taken unless `--skip-final-snapshot`. Deletion is
//! asynchronous (`deleting`), so the cluster is re-listed until it is gone.

use super::{
    ec2_arn, final_snapshot_action, final_snapshot_name, paginate, rds_add_tags, rds_arn,
    rds_arn_or, rds_found, rds_tags, request_id, secs, turn_protection_off, DeleteOptions, Deleted,
    Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct Cluster;

impl ResourceType for Cluster {
    fn name(&self) -> &'static str {
        "rds:cluster"
    }
    fn service(&self) -> &'static str {
        "rds"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("rds", "cluster:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |marker| async move {
            let page = aws_call!(
                cx,
                "rds",
                "DescribeDBClusters",
                cx.rds().describe_db_clusters().set_marker(marker.clone())
            )?;
            let mut out = Vec::new();
            for c in page.db_clusters() {
                let Some(id) = c.db_cluster_identifier() else {
                    continue;
                };
                let arn = rds_arn_or(cx, c.db_cluster_arn(), "cluster", id);
                let subnet_group = c.db_subnet_group().unwrap_or("");
                let parameter_group = c.db_cluster_parameter_group().unwrap_or("");
                let mut f = rds_found(self.name(), cx, id, arn, rds_tags(c.tag_list()))
                    .prop("engine", c.engine().unwrap_or(""))
                    .prop("engine_version", c.engine_version().unwrap_or(""))
                    .prop("subnet_group", subnet_group)
                    .prop("parameter_group", parameter_group)
                    .prop(
                        "deletion_protection",
                        c.deletion_protection().unwrap_or(false),
                    );
                f.created = secs(c.cluster_create_time());
                f.state = c.status().map(str::to_string);
                if !subnet_group.is_empty() {
                    f.depends_on.push(rds_arn(cx, "subgrp", subnet_group));
                }
                if !parameter_group.is_empty() && !parameter_group.starts_with("default.") {
                    f.depends_on
                        .push(rds_arn(cx, "cluster-pg", parameter_group));
                }
                for sg in c.vpc_security_groups() {
                    if let Some(g) = sg.vpc_security_group_id() {
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
            let mut actions = Vec::new();
            let turn_off = async {
                aws_call!(
                    cx,
                    "rds",
                    "ModifyDBCluster",
                    cx.rds()
                        .modify_db_cluster()
                        .db_cluster_identifier(&item.id)
                        .deletion_protection(false)
                        .apply_immediately(true)
                )
            };
            turn_protection_off(item, opts, &mut actions, turn_off).await?;
            let final_snapshot = (!opts.skip_final_snapshot).then(|| final_snapshot_name(&item.id));
            let out = aws_call!(
                cx,
                "rds",
                "DeleteDBCluster",
                cx.rds()
                    .delete_db_cluster()
                    .db_cluster_identifier(&item.id)
                    .skip_final_snapshot(final_snapshot.is_none())
                    .set_final_db_snapshot_identifier(final_snapshot.clone())
            )?;
            actions.push(final_snapshot_action(
                "final cluster snapshot",
                final_snapshot,
            ));
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

    fn tag<'a>(
        &'a self,
        cx: &'a Cx,
        items: &'a [Found],
        key: &'a str,
        value: &'a str,
    ) -> Option<Fut<'a, ()>> {
        Some(rds_add_tags(cx, items, key, value))
    }
}
