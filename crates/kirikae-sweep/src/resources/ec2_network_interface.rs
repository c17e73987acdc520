//! EC2 network interface created by a person (not an instance's primary interface, nor one AWS
//! manages for a NAT gateway, load balancer or Lambda: those go with their owner). Uses its
//! subnet and security groups; one attached to an instance goes after the instance.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct NetworkInterface;

impl ResourceType for NetworkInterface {
    fn name(&self) -> &'static str {
        "ec2:network-interface"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "network-interface/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeNetworkInterfaces",
                cx.ec2()
                    .describe_network_interfaces()
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for n in page.network_interfaces() {
                let Some(id) = n.network_interface_id() else {
                    continue;
                };
                let attachment = n.attachment();
                let primary = attachment.and_then(|a| a.device_index()) == Some(0);
                let managed = n.requester_managed() == Some(true)
                    || n.interface_type()
                        .is_some_and(|t| t.as_str() != "interface")
                    || n.description().is_some_and(|d| {
                        d.starts_with("Interface for NAT Gateway") || d.starts_with("ELB ")
                    });
                if primary || managed {
                    continue;
                }
                let status = n.status().map(|s| s.as_str().to_string());
                let subnet = n.subnet_id().unwrap_or("");
                let mut f = Found::new(
                    self.name(),
                    &cx.region,
                    id,
                    ec2_arn(cx, "network-interface", id),
                )
                .tags_from(ec2_tags(n.tag_set()))
                .prop("vpc", n.vpc_id().unwrap_or(""))
                .prop("subnet", subnet)
                .prop("description", n.description().unwrap_or(""))
                .flag("unattached", status.as_deref() == Some("available"));
                if let Some(i) = attachment.and_then(|a| a.instance_id()) {
                    f = f.prop("instance", i);
                }
                f.state = status;
                f.depends_on.push(ec2_arn(cx, "subnet", subnet));
                for g in n.groups() {
                    if let Some(g) = g.group_id() {
                        f.depends_on.push(ec2_arn(cx, "security-group", g));
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
                "DeleteNetworkInterface",
                cx.ec2()
                    .delete_network_interface()
                    .network_interface_id(&item.id)
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
