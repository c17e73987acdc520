//! EC2 internet gateway: detached from its VPC, then deleted. Goes after everything in the VPC
//! with a public address (see `resources::link`), before the VPC.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct InternetGateway;

impl ResourceType for InternetGateway {
    fn name(&self) -> &'static str {
        "ec2:internet-gateway"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "internet-gateway/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeInternetGateways",
                cx.ec2()
                    .describe_internet_gateways()
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for g in page.internet_gateways() {
                let Some(id) = g.internet_gateway_id() else {
                    continue;
                };
                let mut f = Found::new(
                    self.name(),
                    &cx.region,
                    id,
                    ec2_arn(cx, "internet-gateway", id),
                )
                .tags_from(ec2_tags(g.tags()));
                let vpcs: Vec<&str> = g.attachments().iter().filter_map(|a| a.vpc_id()).collect();
                f.state = Some(
                    if vpcs.is_empty() {
                        "detached"
                    } else {
                        "attached"
                    }
                    .into(),
                );
                f = f.flag("unattached", vpcs.is_empty());
                if let Some(vpc) = vpcs.first() {
                    f = f.prop("vpc", vpc);
                }
                f.depends_on = vpcs.iter().map(|v| ec2_arn(cx, "vpc", v)).collect();
                out.push(f);
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let mut actions = Vec::new();
            if let Some(vpc) = item.properties.get("vpc") {
                let detached = aws_call!(
                    cx,
                    "ec2",
                    "DetachInternetGateway",
                    cx.ec2()
                        .detach_internet_gateway()
                        .internet_gateway_id(&item.id)
                        .vpc_id(vpc)
                );
                match detached {
                    Ok(_) => actions.push(format!("detached from {vpc}")),
                    // Detached meanwhile: nothing to undo.
                    Err(e) if e.code() == Some("Gateway.NotAttached") => {}
                    Err(e) => return Err(e),
                }
            }
            let out = aws_call!(
                cx,
                "ec2",
                "DeleteInternetGateway",
                cx.ec2()
                    .delete_internet_gateway()
                    .internet_gateway_id(&item.id)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions,
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
