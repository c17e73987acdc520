//! RDS DB instance. Uses its cluster (an Aurora instance goes before its cluster), its DB subnet
//! group, its DB parameter group and its VPC security groups. Deletion protection is turned off
//! only with `--disable-protection`; an instance outside a cluster gets a final DB snapshot
//! `<id>-final-<unix time>` unless `--skip-final-snapshot` (a cluster's instances have none: the
//! cluster's snapshot holds the data). Deletion is asynchronous, so it is re-listed until gone.

use super::{
    ec2_arn, final_snapshot_action, final_snapshot_name, paginate, rds_add_tags, rds_arn,
    rds_arn_or, rds_found, rds_tags, request_id, secs, turn_protection_off, DeleteOptions, Deleted,
    Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct DbInstance;

impl ResourceType for DbInstance {
    fn name(&self) -> &'static str {
        "rds:db-instance"
    }
    fn service(&self) -> &'static str {
        "rds"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("rds", "db:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |marker| async move {
            let page = aws_call!(
                cx,
                "rds",
                "DescribeDBInstances",
                cx.rds().describe_db_instances().set_marker(marker.clone())
            )?;
            let mut out = Vec::new();
            for d in page.db_instances() {
                let Some(id) = d.db_instance_identifier() else {
                    continue;
                };
                let arn = rds_arn_or(cx, d.db_instance_arn(), "db", id);
                let cluster = d.db_cluster_identifier().unwrap_or("");
                let subnet_group = d
                    .db_subnet_group()
                    .and_then(|g| g.db_subnet_group_name())
                    .unwrap_or("");
                let parameter_groups: Vec<&str> = d
                    .db_parameter_groups()
                    .iter()
                    .filter_map(|g| g.db_parameter_group_name())
                    .collect();
                let mut f = rds_found(self.name(), cx, id, arn, rds_tags(d.tag_list()))
                    .prop("engine", d.engine().unwrap_or(""))
                    .prop("class", d.db_instance_class().unwrap_or(""))
                    .prop("cluster", cluster)
                    .prop("subnet_group", subnet_group)
                    .prop("parameter_groups", parameter_groups.join(","))
                    .prop(
                        "deletion_protection",
                        d.deletion_protection().unwrap_or(false),
                    );
                f.created = secs(d.instance_create_time());
                f.state = d.db_instance_status().map(str::to_string);
                if !cluster.is_empty() {
                    f.depends_on.push(rds_arn(cx, "cluster", cluster));
                }
                if !subnet_group.is_empty() {
                    f.depends_on.push(rds_arn(cx, "subgrp", subnet_group));
                }
                for pg in parameter_groups {
                    if !pg.starts_with("default.") {
                        f.depends_on.push(rds_arn(cx, "pg", pg));
                    }
                }
                for sg in d.vpc_security_groups() {
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
                    "ModifyDBInstance",
                    cx.rds()
                        .modify_db_instance()
                        .db_instance_identifier(&item.id)
                        .deletion_protection(false)
                        .apply_immediately(true)
                )
            };
            turn_protection_off(item, opts, &mut actions, turn_off).await?;
            let in_cluster = item
                .properties
                .get("cluster")
                .is_some_and(|c| !c.is_empty());
            let final_snapshot =
                (!opts.skip_final_snapshot && !in_cluster).then(|| final_snapshot_name(&item.id));
            let out = aws_call!(
                cx,
                "rds",
                "DeleteDBInstance",
                cx.rds()
                    .delete_db_instance()
                    .db_instance_identifier(&item.id)
                    .skip_final_snapshot(final_snapshot.is_none())
                    .set_final_db_snapshot_identifier(final_snapshot.clone())
            )?;
            actions.push(match final_snapshot {
                None if in_cluster => "no final snapshot (a cluster member)".to_string(),
                s => final_snapshot_action("final DB snapshot", s),
            });
            Ok(Deleted {
                request_id: request_id(&out),
                actions,
            })
        })
    }

    fn deletion_is_async(&self) -> bool {
        true
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
