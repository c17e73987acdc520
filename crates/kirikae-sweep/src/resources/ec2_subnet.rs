//! EC2 subnet. Uses its VPC; deleted after what runs in it (instances, NAT gateways, network
//! interfaces, load balancers) and before the route tables associated with it.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct Subnet;

impl ResourceType for Subnet {
    fn name(&self) -> &'static str {
        "ec2:subnet"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "subnet/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeSubnets",
                cx.ec2().describe_subnets().set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for s in page.subnets() {
                let Some(id) = s.subnet_id() else { continue };
                if s.default_for_az() == Some(true) {
                    continue;
                }
                let vpc = s.vpc_id().unwrap_or("");
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "subnet", id))
                    .tags_from(ec2_tags(s.tags()))
                    .prop("vpc", vpc)
                    .prop("cidr", s.cidr_block().unwrap_or(""))
                    .prop("az", s.availability_zone().unwrap_or(""));
                f.state = s.state().map(|s| s.as_str().to_string());
                f.depends_on.push(ec2_arn(cx, "vpc", vpc));
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
                "DeleteSubnet",
                cx.ec2().delete_subnet().subnet_id(&item.id)
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
