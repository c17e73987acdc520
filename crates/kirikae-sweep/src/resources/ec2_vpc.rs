//! EC2 VPC (not the default VPC). Deleted after its subnets, route tables, security groups and
//! internet gateways (they name it as a dependency); its main route table, default security group
//! and network ACLs go with it.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct Vpc;

impl ResourceType for Vpc {
    fn name(&self) -> &'static str {
        "ec2:vpc"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "vpc/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeVpcs",
                cx.ec2().describe_vpcs().set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for v in page.vpcs() {
                let Some(id) = v.vpc_id() else { continue };
                if v.is_default() == Some(true) {
                    continue;
                }
                let f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "vpc", id))
                    .tags_from(ec2_tags(v.tags()))
                    .prop("cidr", v.cidr_block().unwrap_or(""));
                let state = v.state().map(|s| s.as_str().to_string());
                out.push(Found { state, ..f });
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "ec2",
                "DeleteVpc",
                cx.ec2().delete_vpc().vpc_id(&item.id)
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
