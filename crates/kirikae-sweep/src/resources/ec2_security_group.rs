//! EC2 security group (not a VPC's default group). Uses its VPC and the groups its rules refer
//! to (a group referred to by another's rule cannot be deleted first). `unused`: no network
//! interface carries it and no other group's rule refers to it.

use std::collections::HashSet;

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found, SweepError};

pub struct SecurityGroup;

impl ResourceType for SecurityGroup {
    fn name(&self) -> &'static str {
        "ec2:security-group"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "security-group/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeSecurityGroups",
                cx.ec2()
                    .describe_security_groups()
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for g in page.security_groups() {
                let Some(id) = g.group_id() else { continue };
                if g.group_name() == Some("default") {
                    continue;
                }
                let vpc = g.vpc_id().unwrap_or("");
                let mut f = Found::new(
                    self.name(),
                    &cx.region,
                    id,
                    ec2_arn(cx, "security-group", id),
                )
                .tags_from(ec2_tags(g.tags()))
                .prop("vpc", vpc)
                .prop("group_name", g.group_name().unwrap_or(""));
                if f.name.is_none() {
                    f.name = g.group_name().map(str::to_string);
                }
                if !vpc.is_empty() {
                    f.depends_on.push(ec2_arn(cx, "vpc", vpc));
                }
                let mut refs: Vec<&str> = g
                    .ip_permissions()
                    .iter()
                    .chain(g.ip_permissions_egress())
                    .flat_map(|p| p.user_id_group_pairs())
                    .filter_map(|p| p.group_id())
                    .filter(|r| *r != id)
                    .collect();
                refs.sort();
                refs.dedup();
                for r in refs {
                    f.depends_on.push(ec2_arn(cx, "security-group", r));
                }
                out.push(f);
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "ec2",
                "DeleteSecurityGroup",
                cx.ec2().delete_security_group().group_id(&item.id)
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
        Some(ec2_create_tags(cx, items, key, value))
    }
}

/// Every security group some network interface carries (instances, load balancers, NAT,
/// Lambda, databases: all of them show up as interfaces).
pub async fn groups_on_interfaces(cx: &Cx) -> Result<HashSet<String>, SweepError> {
    let used = paginate(|token| async move {
        let page = aws_call!(
            cx,
            "ec2",
            "DescribeNetworkInterfaces",
            cx.ec2()
                .describe_network_interfaces()
                .set_next_token(token.clone())
        )?;
        let used: Vec<String> = page
            .network_interfaces()
            .iter()
            .flat_map(|eni| eni.groups())
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect();
        Ok((used, page.next_token().map(str::to_string)))
    })
    .await?;
    Ok(used.into_iter().collect())
}
