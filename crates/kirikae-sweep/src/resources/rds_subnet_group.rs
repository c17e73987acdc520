//! RDS DB subnet group. Uses its subnets (it goes before them); the clusters and instances in it
//! use it, so they go first. Not the `default` group. Its describe call has no tags:
//! ListTagsForResource, one call per group.

use super::{
    ec2_arn, rds_add_tags, rds_arn, rds_list_tags, request_id, DeleteOptions, Deleted, Fut,
    ResourceType,
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
        Box::pin(async move {
            let mut out = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let page = aws_call!(
                    cx,
                    "rds",
                    "DescribeDBSubnetGroups",
                    cx.rds()
                        .describe_db_subnet_groups()
                        .set_marker(marker.clone())
                )?;
                for g in page.db_subnet_groups() {
                    let Some(name) = g.db_subnet_group_name() else {
                        continue;
                    };
                    if name == "default" {
                        continue;
                    }
                    let arn = g
                        .db_subnet_group_arn()
                        .map(str::to_string)
                        .unwrap_or_else(|| rds_arn(cx, "subgrp", name));
                    let subnets: Vec<&str> = g
                        .subnets()
                        .iter()
                        .filter_map(|s| s.subnet_identifier())
                        .collect();
                    let tags = match rds_list_tags(cx, &arn).await {
                        Ok(t) => t,
                        Err(e) if e.is_not_found() => continue, // deleted since the listing
                        Err(e) => return Err(e),
                    };
                    let mut f = Found::new(self.name(), &cx.region, name, arn)
                        .tags_from(tags)
                        .prop("vpc", g.vpc_id().unwrap_or(""))
                        .prop("subnets", subnets.join(","));
                    if f.name.is_none() {
                        f.name = Some(name.to_string());
                    }
                    f.state = g.subnet_group_status().map(str::to_string);
                    for s in subnets {
                        f.depends_on.push(ec2_arn(cx, "subnet", s));
                    }
                    out.push(f);
                }
                marker = page.marker().map(str::to_string);
                if marker.is_none() {
                    break;
                }
            }
            Ok(out)
        })
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
