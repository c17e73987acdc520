//! RDS DB snapshot of an instance (manual ones: automated snapshots go with their instance's
//! retention and cannot be deleted). Uses nothing; it outlives its instance.

use super::{
    paginate, rds_add_tags, rds_arn_or, rds_found, rds_tags, request_id, secs, DeleteOptions,
    Deleted, Fut, ResourceType,
};
use crate::{Cx, Found};

pub struct DbSnapshot;

impl ResourceType for DbSnapshot {
    fn name(&self) -> &'static str {
        "rds:db-snapshot"
    }
    fn service(&self) -> &'static str {
        "rds"
    }
    fn arn_pattern(&self) -> (&'static str, &'static str) {
        ("rds", "snapshot:")
    }

    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>> {
        Box::pin(paginate(move |marker| async move {
            let page = aws_call!(
                cx,
                "rds",
                "DescribeDBSnapshots",
                cx.rds()
                    .describe_db_snapshots()
                    .snapshot_type("manual")
                    .set_marker(marker.clone())
            )?;
            let mut out = Vec::new();
            for s in page.db_snapshots() {
                let Some(id) = s.db_snapshot_identifier() else {
                    continue;
                };
                if s.snapshot_type().is_some_and(|t| t != "manual") {
                    continue;
                }
                let arn = rds_arn_or(cx, s.db_snapshot_arn(), "snapshot", id);
                let mut f = rds_found(self.name(), cx, id, arn, rds_tags(s.tag_list()))
                    .prop("instance", s.db_instance_identifier().unwrap_or(""))
                    .prop("engine", s.engine().unwrap_or(""))
                    .prop("encrypted", s.encrypted().unwrap_or(false));
                f.created = secs(s.snapshot_create_time());
                f.state = s.status().map(str::to_string);
                out.push(f);
            }
            Ok((out, page.marker().map(str::to_string)))
        }))
    }

    fn delete<'a>(&'a self, cx: &'a Cx, item: &'a Found, _: &'a DeleteOptions) -> Fut<'a, Deleted> {
        Box::pin(async move {
            let out = aws_call!(
                cx,
                "rds",
                "DeleteDBSnapshot",
                cx.rds()
                    .delete_db_snapshot()
                    .db_snapshot_identifier(&item.id)
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
        Some(rds_add_tags(cx, items, key, value))
    }
}
