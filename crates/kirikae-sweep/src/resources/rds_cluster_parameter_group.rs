//! RDS DB cluster parameter group. The clusters using it go first (each names its groups). Not the
//! `default.*` groups AWS provides. Its describe call has no tags: ListTagsForResource, one call
//! per group.

use super::{
    paginate, rds_add_tags, rds_arn_or, rds_found, rds_list_tags, request_id, unless_gone,
    DeleteOptions, Deleted, Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct ClusterParameterGroup;

impl ResourceType for ClusterParameterGroup {
    fn name(&self) -> &'static str {
        "rds:cluster-parameter-group"
    }
    fn service(&self) -> &'static str {
        "rds"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("rds", "cluster-pg:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |marker| async move {
            let page = aws_call!(
                cx,
                "rds",
                "DescribeDBClusterParameterGroups",
                cx.rds()
                    .describe_db_cluster_parameter_groups()
                    .set_marker(marker.clone())
            )?;
            let mut out = Vec::new();
            for g in page.db_cluster_parameter_groups() {
                let Some(name) = g.db_cluster_parameter_group_name() else {
                    continue;
                };
                if name.starts_with("default.") {
                    continue;
                }
                let arn = rds_arn_or(cx, g.db_cluster_parameter_group_arn(), "cluster-pg", name);
                let Some(tags) = unless_gone(rds_list_tags(cx, &arn).await)? else {
                    continue; // deleted since the listing
                };
                out.push(
                    rds_found(self.name(), cx, name, arn, tags)
                        .prop("family", g.db_parameter_group_family().unwrap_or("")),
                );
            }
            Ok((out, page.marker().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "rds",
                "DeleteDBClusterParameterGroup",
                cx.rds()
                    .delete_db_cluster_parameter_group()
                    .db_cluster_parameter_group_name(&item.id)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![],
            })
        })
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
