//! EC2 Elastic IP (VPC). An address still associated with an instance or interface is
//! disassociated first; a NAT gateway's address goes after the NAT gateway (which names it).

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, request_id, unless_gone, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct ElasticIp;

impl ResourceType for ElasticIp {
    fn name(&self) -> &'static str {
        "ec2:elastic-ip"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "elastic-ip/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            // DescribeAddresses has no pagination.
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeAddresses",
                cx.ec2().describe_addresses()
            )?;
            let mut out = Vec::new();
            for a in page.addresses() {
                let Some(id) = a.allocation_id() else {
                    continue;
                };
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "elastic-ip", id))
                    .tags_from(ec2_tags(a.tags()))
                    .prop("public_ip", a.public_ip().unwrap_or(""))
                    .flag("unattached", a.association_id().is_none());
                // The association changes when the plan deletes the instance first (a resumed
                // apply would otherwise see every such address as changed): shown, not
                // fingerprinted. An association with something outside the plan is caught as a
                // user outside the plan.
                if let Some(assoc) = a.association_id() {
                    f = f
                        .volatile_prop("association", assoc)
                        .volatile_prop("interface", a.network_interface_id().unwrap_or(""));
                }
                if let Some(i) = a.instance_id().filter(|i| !i.is_empty()) {
                    f = f.volatile_prop("instance", i);
                }
                out.push(f);
            }
            Ok(out)
        })
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let mut actions = Vec::new();
            // Only an address associated with an instance needs this; a NAT gateway's address is
            // freed by deleting the NAT gateway (which goes first).
            if let (Some(assoc), Some(_)) = (
                item.properties.get("association"),
                item.properties.get("instance"),
            ) {
                let disassociated = aws_call!(
                    cx,
                    "ec2",
                    "DisassociateAddress",
                    cx.ec2().disassociate_address().association_id(assoc)
                );
                if unless_gone(disassociated)?.is_some() {
                    actions.push(format!("disassociated {assoc}"));
                }
            }
            let out = aws_call!(
                cx,
                "ec2",
                "ReleaseAddress",
                cx.ec2().release_address().allocation_id(&item.id)
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
