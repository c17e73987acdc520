//! SNS topic (its subscriptions go with it). SNS keeps no creation time.

use super::{bad_tag, paginate, request_id, tag_each, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found};

pub struct Topic;

impl ResourceType for Topic {
    fn name(&self) -> &'static str {
        "sns:topic"
    }
    fn service(&self) -> &'static str {
        "sns"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("sns", "")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "sns",
                "ListTopics",
                cx.sns().list_topics().set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for t in page.topics() {
                let Some(arn) = t.topic_arn() else { continue };
                let name = arn.rsplit(':').next().unwrap_or(arn);
                let mut f = Found::new(self.name(), &cx.region, arn, arn);
                f.name = Some(name.to_string());
                out.push(f);
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "sns",
                "DeleteTopic",
                cx.sns().delete_topic().topic_arn(&item.arn)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![],
            })
        })
    }

    fn owns_arn(&self, arn: &str) -> bool {
        // A topic's ARN has six parts; a subscription's has seven.
        arn.starts_with("arn:aws:sns:") && arn.split(':').count() == 6
    }

    fn tag<'a>(
        &'a self,
        cx: &'a Cx,
        items: &'a [Found],
        key: &'a str,
        value: &'a str,
    ) -> Option<Fut<'a, ()>> {
        tag_each(items, move |f| async move {
            let tag = aws_sdk_sns::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(bad_tag)?;
            aws_call!(
                cx,
                "sns",
                "TagResource",
                cx.sns()
                    .tag_resource()
                    .resource_arn(&f.arn)
                    .tags(tag.clone())
            )
        })
    }
}
