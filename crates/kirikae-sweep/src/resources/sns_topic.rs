//! SNS topic (its subscriptions go with it). SNS keeps no creation time.

use super::{request_id, DeleteOptions, Deleted, Fut, ResourceType};
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
        Box::pin(async move {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = aws_call!(
                    cx,
                    "sns",
                    "ListTopics",
                    cx.sns().list_topics().set_next_token(token.clone())
                )?;
                for t in page.topics() {
                    let Some(arn) = t.topic_arn() else { continue };
                    let name = arn.rsplit(':').next().unwrap_or(arn);
                    let mut f = Found::new(self.name(), &cx.region, arn, arn);
                    f.name = Some(name.to_string());
                    out.push(f);
                }
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Ok(out)
        })
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
        Some(Box::pin(async move {
            let tag = aws_sdk_sns::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| crate::SweepError::BadInput(format!("tag: {e}")))?;
            for f in items {
                aws_call!(
                    cx,
                    "sns",
                    "TagResource",
                    cx.sns()
                        .tag_resource()
                        .resource_arn(&f.arn)
                        .tags(tag.clone())
                )?;
            }
            Ok(())
        }))
    }
}
