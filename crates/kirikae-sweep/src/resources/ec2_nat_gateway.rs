//! EC2 NAT gateway. Uses its subnet and Elastic IPs; deletion is asynchronous (`deleting` ->
//! `deleted`), so it is re-listed until deleted before its subnet and addresses go.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, secs, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct NatGateway;

impl ResourceType for NatGateway {
    fn name(&self) -> &'static str {
        "ec2:nat-gateway"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "natgateway/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeNatGateways",
                cx.ec2()
                    .describe_nat_gateways()
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for n in page.nat_gateways() {
                let Some(id) = n.nat_gateway_id() else {
                    continue;
                };
                let subnet = n.subnet_id().unwrap_or("");
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "natgateway", id))
                    .tags_from(ec2_tags(n.tags()))
                    .prop("vpc", n.vpc_id().unwrap_or(""))
                    .prop("subnet", subnet);
                f.created = secs(n.create_time());
                f.state = n.state().map(|s| s.as_str().to_string());
                f.depends_on.push(ec2_arn(cx, "subnet", subnet));
                for a in n.nat_gateway_addresses() {
                    if let Some(alloc) = a.allocation_id() {
                        f.depends_on.push(ec2_arn(cx, "elastic-ip", alloc));
                    }
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
                "DeleteNatGateway",
                cx.ec2().delete_nat_gateway().nat_gateway_id(&item.id)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![],
            })
        })
    }

    fn deletion_is_async(&self) -> bool {
        true
    }

    fn is_gone(&self, found: &Found) -> bool {
        found.state.as_deref() == Some("deleted")
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
