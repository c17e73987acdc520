//! EC2 key pair (deleted by name; instances keep working without it). DeleteKeyPair succeeds
//! whether or not the key exists, so the deletion is confirmed by listing again.

use super::{
    ec2_arn, ec2_create_tags, ec2_tags, request_id, secs, DeleteOptions, Deleted, Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct KeyPair;

impl ResourceType for KeyPair {
    fn name(&self) -> &'static str {
        "ec2:key-pair"
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("ec2", "key-pair/")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(async move {
            // DescribeKeyPairs has no pagination.
            let page = aws_call!(cx, "ec2", "DescribeKeyPairs", cx.ec2().describe_key_pairs())?;
            let mut out = Vec::new();
            for k in page.key_pairs() {
                let (Some(id), Some(name)) = (k.key_pair_id(), k.key_name()) else {
                    continue;
                };
                let mut f = Found::new(self.name(), &cx.region, id, ec2_arn(cx, "key-pair", id))
                    .tags_from(ec2_tags(k.tags()))
                    .prop("key_name", name)
                    .prop("key_type", k.key_type().map(|t| t.as_str()).unwrap_or(""));
                f.name = Some(name.to_string());
                f.created = secs(k.create_time());
                out.push(f);
            }
            Ok(out)
        })
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            // By name: moto 5.2.5 ignores KeyPairId here (and AWS answers success either way).
            let name = item.properties.get("key_name").cloned().unwrap_or_default();
            let out = aws_call!(
                cx,
                "ec2",
                "DeleteKeyPair",
                cx.ec2().delete_key_pair().key_name(&name)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![],
            })
        })
    }

    // DeleteKeyPair answers success even for a missing key: re-list to confirm.
    fn deletion_is_async(&self) -> bool {
        true
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
