//! Lambda function (every version and alias goes with it). Uses its execution role (the
//! function goes first, the role after) and, when it runs in a VPC, its subnets and security
//! groups. Tags come from the Tagging API.

use super::{ec2_arn, paginate, request_id, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found};

pub struct Function;

impl ResourceType for Function {
    fn name(&self) -> &'static str {
        "lambda:function"
    }
    fn service(&self) -> &'static str {
        "lambda"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("lambda", "function:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |marker| async move {
            let page = aws_call!(
                cx,
                "lambda",
                "ListFunctions",
                cx.lambda().list_functions().set_marker(marker.clone())
            )?;
            let mut out = Vec::new();
            for c in page.functions() {
                let Some(name) = c.function_name() else {
                    continue;
                };
                let arn = c
                    .function_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| cx.arn("lambda", &format!("function:{name}")));
                let role = c.role().unwrap_or("");
                let vpc = c.vpc_config();
                let mut f = Found::new(self.name(), &cx.region, name, arn)
                    .prop("runtime", c.runtime().map(|r| r.as_str()).unwrap_or(""))
                    .prop("role", role)
                    .prop("code_size", c.code_size())
                    .prop("last_modified", c.last_modified().unwrap_or(""))
                    .prop("vpc", vpc.and_then(|v| v.vpc_id()).unwrap_or(""));
                f.name = Some(name.to_string());
                f.state = c.state().map(|s| s.as_str().to_string());
                if !role.is_empty() {
                    f.depends_on.push(role.to_string());
                }
                if let Some(v) = vpc {
                    for s in v.subnet_ids() {
                        f.depends_on.push(ec2_arn(cx, "subnet", s));
                    }
                    for g in v.security_group_ids() {
                        f.depends_on.push(ec2_arn(cx, "security-group", g));
                    }
                }
                out.push(f);
            }
            Ok((out, page.next_marker().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "lambda",
                "DeleteFunction",
                cx.lambda().delete_function().function_name(&item.id)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![],
            })
        })
    }
}
