//! EC2 route table (not a VPC's main one, which goes with the VPC). The subnets associated with
//! it go first (deleting a subnet removes its association; see `resources::link`).

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, paginate, request_id, DeleteOptions, Deleted, Fut,
    ResourceType,
};
use crate::{Cx, Found};

pub struct RouteTable;

impl ResourceType for RouteTable {
    fn name(&self) -> &'static str {
        "ec2:route-table"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "route-table/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "ec2",
                "DescribeRouteTables",
                cx.ec2()
                    .describe_route_tables()
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for rt in page.route_tables() {
                let Some(id) = rt.route_table_id() else {
                    continue;
                };
                if rt.associations().iter().any(|a| a.main() == Some(true)) {
                    continue;
                }
                let vpc = rt.vpc_id().unwrap_or("");
                let mut subnets: Vec<&str> = rt
                    .associations()
                    .iter()
                    .filter_map(|a| a.subnet_id())
                    .collect();
                subnets.sort();
                let mut targets: Vec<String> = rt
                    .routes()
                    .iter()
                    .filter_map(|r| r.gateway_id().or(r.nat_gateway_id()))
                    .filter(|g| *g != "local")
                    .map(str::to_string)
                    .collect();
                targets.sort();
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "route-table", id))
                    .tags_from(ec2_tags(rt.tags()))
                    .prop("vpc", vpc)
                    .prop("subnets", subnets.join(","))
                    .prop("routes_to", targets.join(","))
                    .flag("unattached", subnets.is_empty());
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
                "DeleteRouteTable",
                cx.ec2().delete_route_table().route_table_id(&item.id)
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
