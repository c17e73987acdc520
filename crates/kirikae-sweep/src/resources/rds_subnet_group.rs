//! RDS DB subnet group. Uses its subnets (it goes before them); the clusters and instances in it
//! use it, so they go first. Not the `default` group. Its describe call has no tags:
//! ListTagsForResource, one call per group.

use super::{
    ec2_arn, paginate, rds_add_tags, rds_arn_or, rds_found, rds_list_tags, request_id, unless_gone,
    DeleteOptions, Deleted, Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct SubnetGroup;

impl ResourceType for SubnetGroup {
    fn name(&self) -> &'static str {
        "rds:subnet-group"
    }
    fn service(&self) -> &'static str {
        "rds"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("rds", "subgrp:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |marker| async move {
            let page = aws_call!(
                cx,
                "rds",
                "DescribeDBSubnetGroups",
                cx.rds()
                    .describe_db_subnet_groups()
                    .set_marker(marker.clone())
            )?;
            let mut out = Vec::new();
            for g in page.db_subnet_groups() {
                let Some(name) = g.db_subnet_group_name() else {
                    continue;
                };
                if name == "default" {
                    continue;
                }
                let arn = rds_arn_or(cx, g.db_subnet_group_arn(), "subgrp", name);
                let subnets: Vec<&str> = g
                    .subnets()
                    .iter()
                    .filter_map(|s| s.subnet_identifier())
                    .collect();
                let Some(tags) = unless_gone(rds_list_tags(cx, &arn).await)? else {
                    continue; // deleted since the listing
                };
                let mut f = rds_found(self.name(), cx, name, arn, tags)
                    .prop("vpc", g.vpc_id().unwrap_or(""))
                    .prop("subnets", subnets.join(","));
                f.state = g.subnet_group_status().map(str::to_string);
                for s in subnets {
                    f.depends_on.push(ec2_arn(cx, "subnet", s));
                }
                out.push(f);
            }
            Ok((out, page.marker().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "rds",
                "DeleteDBSubnetGroup",
                cx.rds()
                    .delete_db_subnet_group()
                    .db_subnet_group_name(&item.id)
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
