//! CloudWatch metric alarm (composite alarms are not listed). Its state (`OK`, `ALARM`,
//! `INSUFFICIENT_DATA`) changes with the metric, so it is shown but not fingerprinted. Tags come
//! from the Tagging API. DeleteAlarms takes up to 100 names, but apply deletes item by item (each
//! with its own audit line and outcome), so one name a call.

use super::{paginate, request_id, secs, DeleteOptions, Deleted, Fut, ResourceType};
use crate::{Cx, Found};

pub struct Alarm;

impl ResourceType for Alarm {
    fn name(&self) -> &'static str {
        "cloudwatch:alarm"
    }
    fn service(&self) -> &'static str {
        "cloudwatch"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("cloudwatch", "alarm:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        use aws_sdk_cloudwatch::types::AlarmType;
        Box::pin(paginate(move |token| async move {
            let page = aws_call!(
                cx,
                "cloudwatch",
                "DescribeAlarms",
                cx.cloudwatch()
                    .describe_alarms()
                    .alarm_types(AlarmType::MetricAlarm)
                    .set_next_token(token.clone())
            )?;
            let mut out = Vec::new();
            for a in page.metric_alarms() {
                let Some(name) = a.alarm_name() else {
                    continue;
                };
                let arn = a
                    .alarm_arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| cx.arn("cloudwatch", &format!("alarm:{name}")));
                let mut f = Found::new(self.name(), &cx.region, name, arn)
                    .prop("namespace", a.namespace().unwrap_or(""))
                    .prop("metric", a.metric_name().unwrap_or(""))
                    .prop("actions", a.alarm_actions().join(","))
                    .volatile_prop(
                        "alarm_state",
                        a.state_value().map(|s| s.as_str()).unwrap_or(""),
                    );
                f.name = Some(name.to_string());
                f.created = secs(a.alarm_configuration_updated_timestamp());
                out.push(f);
            }
            Ok((out, page.next_token().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "cloudwatch",
                "DeleteAlarms",
                cx.cloudwatch().delete_alarms().alarm_names(&item.id)
            )?;
            Ok(Deleted {
                request_id: request_id(&out),
                actions: vec![],
            })
        })
    }
}
