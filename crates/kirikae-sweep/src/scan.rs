//! `scan`: from selectors to a plan. Every selected type is listed in every region (in
//! parallel); the Tagging API adds the tags of types whose listing has none and names the tagged
//! resources of types kirikae does not know (listed in the plan, never deleted).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::resources::{self, ResourceType};
use crate::{Cx, Found, MarkStatus, Plan, PlanAccount, PlanItem, SweepError, UnknownResource};

/// What to pick. Tag filters all have to match; each of the other kinds narrows further when
/// given; among several `--state` values one is enough.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    /// `key=value`, or `key` alone for any value.
    pub tags: Vec<(String, Option<String>)>,
    /// Registry type names (`ec2:vpc`) or services (`ec2`); empty: every type.
    pub types: Vec<String>,
    /// Globs (`*`, `?`) over the name or id.
    pub names: Vec<String>,
    /// Created more than this many seconds ago (resources without a creation time never match).
    pub older_than_secs: Option<i64>,
    /// `unattached`, `stopped`, `orphan`, `unused`, `empty`.
    pub states: Vec<String>,
}

pub const STATES: &[&str] = &["unattached", "stopped", "orphan", "unused", "empty"];

impl Selectors {
    pub fn parse(
        tags: &[String],
        types: &[String],
        names: &[String],
        older_than: Option<&str>,
        states: &[String],
    ) -> Result<Selectors, SweepError> {
        let mut sel = Selectors::default();
        for t in tags {
            let (k, v) = match t.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (t.as_str(), None),
            };
            if k.is_empty() {
                return Err(SweepError::BadInput(format!(
                    "--tag {t:?}: expected KEY=VALUE or KEY, e.g. --tag owner=old-monolith"
                )));
            }
            sel.tags.push((k.to_string(), v));
        }
        let known: Vec<&str> = resources::registry().iter().map(|t| t.name()).collect();
        for t in types {
            let ok = known
                .iter()
                .any(|k| *k == t || k.split(':').next() == Some(t.as_str()));
            if !ok {
                return Err(SweepError::BadInput(format!(
                    "--type {t:?}: not a type kirikae knows; known: {}",
                    known.join(", ")
                )));
            }
            sel.types.push(t.clone());
        }
        sel.names = names.to_vec();
        if let Some(age) = older_than {
            sel.older_than_secs = Some(parse_age(age)?);
        }
        for s in states {
            if !STATES.contains(&s.as_str()) {
                return Err(SweepError::BadInput(format!(
                    "--state {s:?}: expected one of {}",
                    STATES.join(", ")
                )));
            }
            sel.states.push(s.clone());
        }
        if sel.tags.is_empty()
            && sel.names.is_empty()
            && sel.older_than_secs.is_none()
            && sel.states.is_empty()
        {
            return Err(SweepError::BadInput(
                "give at least one selector besides --type: --tag KEY=VALUE, --name PATTERN, \
                 --older-than 90d or --state unattached|stopped|orphan|unused|empty (a scan of \
                 everything is never what a sweep means)"
                    .into(),
            ));
        }
        Ok(sel)
    }

    fn wants_type(&self, t: &dyn ResourceType) -> bool {
        self.types.is_empty()
            || self
                .types
                .iter()
                .any(|s| s == t.name() || t.name().split(':').next() == Some(s.as_str()))
    }

    fn matches(&self, f: &Found, now: i64) -> bool {
        for (k, v) in &self.tags {
            match (f.tags.get(k), v) {
                (None, _) => return false,
                (Some(have), Some(want)) if have != want => return false,
                _ => {}
            }
        }
        if !self.names.is_empty() {
            let name = f.name.as_deref().unwrap_or("");
            if !self.names.iter().any(|p| glob(p, name) || glob(p, &f.id)) {
                return false;
            }
        }
        if let Some(age) = self.older_than_secs {
            match f.created {
                Some(c) if now.saturating_sub(c) > age => {}
                _ => return false,
            }
        }
        if !self.states.is_empty() && !self.states.iter().any(|s| f.flags.contains(s)) {
            return false;
        }
        true
    }

    /// The selectors as a person would type them, for the plan file.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &self.tags {
            out.push(match v {
                Some(v) => format!("--tag {k}={v}"),
                None => format!("--tag {k}"),
            });
        }
        out.extend(self.types.iter().map(|t| format!("--type {t}")));
        out.extend(self.names.iter().map(|n| format!("--name {n}")));
        if let Some(s) = self.older_than_secs {
            out.push(format!("--older-than {}", format_age(s)));
        }
        out.extend(self.states.iter().map(|s| format!("--state {s}")));
        out
    }
}

/// The longest `--older-than`: 100 years, older than any AWS resource.
pub const MAX_AGE_DAYS: i64 = 36_500;
const MAX_AGE_SECS: i64 = MAX_AGE_DAYS * 86_400;

/// The units of `--older-than`, largest first, with their length in seconds.
const AGE_UNITS: [(&str, i64); 4] = [("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)];

/// `90d`, `12h`, `2w`, `30m` -> seconds, at most [`MAX_AGE_DAYS`] days (checked arithmetic: no
/// number overflows, however many digits it has).
pub fn parse_age(text: &str) -> Result<i64, SweepError> {
    let bad = || {
        SweepError::BadInput(format!(
            "--older-than {text:?}: expected a number and a unit, e.g. 90d, 12h, 2w, 30m"
        ))
    };
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    if num.is_empty() {
        return Err(bad());
    }
    let Some(&(_, unit_secs)) = AGE_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(bad());
    };
    let too_long = || {
        let limits: Vec<String> = AGE_UNITS
            .iter()
            .map(|(u, secs)| format!("{}{u}", MAX_AGE_SECS / secs))
            .collect();
        SweepError::BadInput(format!(
            "--older-than {text:?}: too long; at most {MAX_AGE_DAYS}d (100 years), that is {}",
            limits.join(", ")
        ))
    };
    // `num` is all digits: it fails to parse only when it overflows.
    num.parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_secs))
        .filter(|&secs| secs <= MAX_AGE_SECS)
        .ok_or_else(too_long)
}

/// Seconds as `--older-than` takes them, in the largest unit that says it exactly.
fn format_age(secs: i64) -> String {
    AGE_UNITS
        .iter()
        .find(|(_, u)| secs % u == 0)
        .map(|(unit, u)| format!("{}{unit}", secs / u))
        .unwrap_or_else(|| format!("{}m", secs / 60))
}

/// `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// One region's inventory: every listed resource with its fingerprint, linked across types.
pub struct Inventory {
    pub found: Vec<Found>,
    /// arn -> fingerprint (taken before cross-type links).
    pub fingerprints: HashMap<String, String>,
    /// Tagged resources (from the Tagging API) whose ARN no listed type owns.
    pub tagged_elsewhere: Vec<UnknownResource>,
}

/// Tags by ARN from the Tagging API, optionally only resources matching `filters`.
pub async fn tagging_resources(
    cx: &Cx,
    filters: &[(String, Option<String>)],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, SweepError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let filters: Vec<TagFilter> = filters
        .iter()
        .map(|(k, v)| {
            TagFilter::builder()
                .key(k)
                .set_values(v.clone().map(|v| vec![v]))
                .build()
        })
        .collect();
    let filters = &filters;
    let tagged = crate::resources::paginate(|token| async move {
        let page = aws_call!(
            cx,
            "tagging",
            "GetResources",
            cx.tagging()
                .get_resources()
                .set_tag_filters(if filters.is_empty() {
                    None
                } else {
                    Some(filters.clone())
                })
                .resources_per_page(100)
                .set_pagination_token(token.clone())
        )?;
        let mut tagged = Vec::new();
        for m in page.resource_tag_mapping_list() {
            let Some(arn) = m.resource_arn() else {
                continue;
            };
            let tags = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            tagged.push((arn.to_string(), tags));
        }
        let next = page
            .pagination_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        Ok((tagged, next))
    })
    .await?;
    Ok(tagged.into_iter().collect())
}

/// Lists `types` in one region, adds the Tagging API's tags, takes fingerprints, links.
pub async fn inventory(
    cx: &Arc<Cx>,
    types: &[&'static dyn ResourceType],
    tag_filters: &[(String, Option<String>)],
    sweep_tag: &str,
) -> Result<Inventory, SweepError> {
    let mut set = tokio::task::JoinSet::new();
    for (i, t) in types.iter().enumerate() {
        let cx = cx.clone();
        let t = *t;
        set.spawn(async move { (i, t.list(&cx).await) });
    }
    let tagged = tagging_resources(cx, tag_filters).await?;
    let mut lists: Vec<(usize, Vec<Found>)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (i, listed) = joined.map_err(|e| SweepError::Io {
            what: "listing".into(),
            why: e.to_string(),
        })?;
        lists.push((i, listed?));
    }
    lists.sort_by_key(|(i, _)| *i);
    let mut found: Vec<Found> = lists.into_iter().flat_map(|(_, l)| l).collect();
    let mut fingerprints = HashMap::new();
    let listed_arns: HashSet<String> = found.iter().map(|f| f.arn.clone()).collect();
    for f in &mut found {
        if let Some(tags) = tagged.get(&f.arn) {
            for (k, v) in tags {
                f.tags.entry(k.clone()).or_insert_with(|| v.clone());
            }
            if f.name.is_none() {
                f.name = f.tags.get("Name").cloned();
            }
        }
        fingerprints.insert(f.arn.clone(), f.fingerprint(sweep_tag));
    }
    resources::link(&mut found);
    let tagged_elsewhere = tagged
        .into_iter()
        .filter(|(arn, _)| !listed_arns.contains(arn))
        .map(|(arn, tags)| UnknownResource {
            resource_type: arn_type(&arn),
            arn,
            tags,
            reason: None,
        })
        .collect();
    Ok(Inventory {
        found,
        fingerprints,
        tagged_elsewhere,
    })
}

/// `ec2:vpc`, `s3`, `rds:cluster-snapshot` from an ARN (the Tagging API's resource type style).
fn arn_type(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() < 6 {
        return "unknown".into();
    }
    let kind = parts[5].split(['/', ':']).next().unwrap_or("");
    if kind.is_empty() || kind == parts[5] {
        parts[2].to_string()
    } else {
        format!("{}:{kind}", parts[2])
    }
}

pub struct Scanned {
    pub items: Vec<(Found, String)>,
    pub unknown: Vec<UnknownResource>,
}

/// Finds the candidates in every region of `cxs`.
pub async fn find(
    cxs: &[Arc<Cx>],
    sel: &Selectors,
    sweep_tag: &str,
) -> Result<Scanned, SweepError> {
    find_with(cxs, sel, sweep_tag, &CloudControlScan::default()).await
}

/// What `scan --cloud-control` may do with tagged resources of types kirikae has no file for.
#[derive(Debug, Clone, Default)]
pub struct CloudControlScan {
    pub enabled: bool,
    /// Data-bearing types (risk `data` in the table) the user opted in to, by type name.
    pub data_types: Vec<String>,
}

/// The tag CloudFormation puts on every resource of a stack.
pub const STACK_TAG: &str = "aws:cloudformation:stack-id";

impl CloudControlScan {
    /// Checks `--cloud-control-data` names: each a data-bearing type of the table.
    pub fn new(enabled: bool, data_types: &[String]) -> Result<CloudControlScan, SweepError> {
        for t in data_types {
            match crate::cloudcontrol::by_type_name(t) {
                Some(cc) if cc.risk == crate::cc_types::Risk::Data => {}
                Some(cc) => {
                    return Err(SweepError::BadInput(format!(
                        "--cloud-control-data {t}: not a data-bearing type (its risk class is {}); \
                         it needs no opt-in",
                        cc.risk.as_str()
                    )))
                }
                None => {
                    let data: Vec<&str> = crate::cloudcontrol::types()
                        .iter()
                        .filter(|c| c.risk == crate::cc_types::Risk::Data)
                        .map(|c| c.type_name)
                        .collect();
                    return Err(SweepError::BadInput(format!(
                        "--cloud-control-data {t}: not a Cloud Control type of kirikae's table; \
                         data-bearing types: {}",
                        data.join(", ")
                    )));
                }
            }
        }
        if !enabled && !data_types.is_empty() {
            return Err(SweepError::BadInput(
                "--cloud-control-data needs --cloud-control".into(),
            ));
        }
        Ok(CloudControlScan {
            enabled,
            data_types: data_types.to_vec(),
        })
    }
}

/// [`find`], and with `cc.enabled` each tagged resource of a type kirikae does not know is
/// read with AWS Cloud Control: made a plan item if the type table maps its ARN and what Cloud
/// Control reads back is that resource (and the other selectors match), else left in `unknown`
/// with the reason.
pub async fn find_with(
    cxs: &[Arc<Cx>],
    sel: &Selectors,
    sweep_tag: &str,
    cc: &CloudControlScan,
) -> Result<Scanned, SweepError> {
    let types: Vec<&'static dyn ResourceType> = resources::registry()
        .into_iter()
        .filter(|t| sel.wants_type(*t))
        .collect();
    let now = now_secs();
    let mut items = Vec::new();
    let mut unknown = Vec::new();
    for cx in cxs {
        let mut inv = inventory(cx, &types, &sel.tags, sweep_tag).await?;
        if sel.states.iter().any(|s| s == "unused")
            && types.iter().any(|t| t.name() == "ec2:security-group")
        {
            let on_interfaces = resources::security_groups_on_interfaces(cx).await?;
            let referenced: HashSet<String> = inv
                .found
                .iter()
                .filter(|f| f.kind == "ec2:security-group")
                .flat_map(|f| f.depends_on.iter().cloned())
                .collect();
            for f in inv
                .found
                .iter_mut()
                .filter(|f| f.kind == "ec2:security-group")
            {
                if !on_interfaces.contains(&f.id) && !referenced.contains(&f.arn) {
                    f.flags.push("unused".into());
                }
            }
        }
        for f in inv.found {
            let t = resources::find_type(&f.kind);
            if t.is_some_and(|t| t.is_gone(&f)) || !sel.matches(&f, now) {
                continue;
            }
            let fp = inv.fingerprints.get(&f.arn).cloned().unwrap_or_default();
            items.push((f, fp));
        }
        if sel.types.is_empty() {
            // Only by tag can a resource of another type be found at all.
            if !sel.tags.is_empty() {
                let mut lookups = Lookups::default();
                for u in inv.tagged_elsewhere {
                    if !cc.enabled {
                        unknown.push(u);
                        continue;
                    }
                    match through_cloud_control(cx, sel, cc, sweep_tag, now, &u, &mut lookups)
                        .await?
                    {
                        Ok(item) => items.push(item),
                        Err(reason) => unknown.push(UnknownResource {
                            reason: Some(reason),
                            ..u
                        }),
                    }
                }
            }
        }
    }
    if cc.enabled {
        cloud_control_plan(cxs, &mut items, &mut unknown).await?;
    }
    Ok(Scanned { items, unknown })
}

/// The Cloud Control items of a scan as a plan holds them: a global type found in several
/// regions once (deleted from the first region that found it, which it says); edges from
/// their properties; parents with children outside the plan held back (listed in `unknown`
/// with the children named).
async fn cloud_control_plan(
    cxs: &[Arc<Cx>],
    items: &mut Vec<(Found, String)>,
    unknown: &mut Vec<UnknownResource>,
) -> Result<(), SweepError> {
    once_per_global_resource(items);
    let mut found: Vec<Found> = items.iter().map(|(f, _)| f.clone()).collect();
    crate::cc_deps::link(&mut found);
    for ((f, _), linked) in items.iter_mut().zip(found) {
        f.depends_on = linked.depends_on;
    }
    let mut held: HashMap<String, String> = HashMap::new();
    for cx in cxs {
        let region: Vec<Found> = items
            .iter()
            .filter(|(f, _)| f.region == cx.region)
            .map(|(f, _)| f.clone())
            .collect();
        held.extend(crate::cc_deps::held_back(cx, &region).await?);
    }
    items.retain(|(f, _)| match held.get(&f.arn) {
        Some(why) => {
            unknown.push(UnknownResource {
                arn: f.arn.clone(),
                resource_type: arn_type(&f.arn),
                tags: f.tags.clone(),
                reason: Some(format!("{} {}: {why}", f.kind, f.id)),
            });
            false
        }
        None => true,
    });
    Ok(())
}

/// A resource of a global Cloud Control type (the table's `scope = global`, e.g. IAM) that
/// several regions found is kept once, from the first of them (the run's region order); the
/// plan says so in its `deleted_from` property (not fingerprinted: apply reads it back in that
/// region only).
pub(crate) fn once_per_global_resource(items: &mut Vec<(Found, String)>) {
    use crate::cc_types::Scope;
    let global =
        |f: &Found| crate::cloudcontrol::find(&f.kind).is_some_and(|t| t.scope == Scope::Global);
    let mut regions: HashMap<String, Vec<String>> = HashMap::new();
    for (f, _) in items.iter().filter(|(f, _)| global(f)) {
        let r = regions.entry(f.arn.clone()).or_default();
        if !r.contains(&f.region) {
            r.push(f.region.clone());
        }
    }
    let mut kept: HashSet<String> = HashSet::new();
    items.retain(|(f, _)| !global(f) || kept.insert(f.arn.clone()));
    for (f, _) in items.iter_mut().filter(|(f, _)| global(f)) {
        let r = &regions[&f.arn];
        let others: Vec<&str> = r[1..].iter().map(String::as_str).collect();
        let text = if others.is_empty() {
            format!("{} (a global type)", r[0])
        } else {
            format!(
                "{} (a global type, also found in {}: deleted once)",
                r[0],
                others.join(", ")
            )
        };
        *f = f.clone().volatile_prop("deleted_from", text);
    }
}

/// ListResources answers of one region, by type, for identifiers an ARN does not give.
#[derive(Default)]
struct Lookups(HashMap<&'static str, Vec<(String, serde_json::Value)>>);

/// A tagged resource of an unknown type as a plan item read by Cloud Control, or why not.
async fn through_cloud_control(
    cx: &Cx,
    sel: &Selectors,
    cc: &CloudControlScan,
    sweep_tag: &str,
    now: i64,
    u: &UnknownResource,
    lookups: &mut Lookups,
) -> Result<Result<(Found, String), String>, SweepError> {
    use crate::cc_types::{normalize_arn, Risk};
    if let Some(stack) = u.tags.get(STACK_TAG) {
        return Ok(Err(format!(
            "managed by the CloudFormation stack {stack}: delete the stack (aws cloudformation \
             delete-stack), not its resources one by one"
        )));
    }
    let Some(m) = crate::cc_types::table().match_arn(&u.arn) else {
        return Ok(Err(format!(
            "no Cloud Control mapping for this ARN shape ({}): listed only, never deleted",
            u.resource_type
        )));
    };
    let Some(t) = m
        .row
        .type_name
        .as_deref()
        .and_then(crate::cloudcontrol::by_type_name)
    else {
        return Ok(Err(format!(
            "not reachable through Cloud Control: {}: listed only, never deleted",
            m.row.why.as_deref().unwrap_or("no type")
        )));
    };
    if let Some(why) = t.deny {
        return Ok(Err(format!(
            "{} is never deleted through Cloud Control: {why}",
            t.type_name
        )));
    }
    if let Some(why) = absent_from_region(&m, &cx.region) {
        return Ok(Err(why));
    }
    if t.risk == Risk::Data && !cc.data_types.iter().any(|d| d == t.type_name) {
        return Ok(Err(format!(
            "{} holds data, and Cloud Control deletes it without a final snapshot or backup: \
             pass --cloud-control-data {} to plan it",
            t.type_name, t.type_name
        )));
    }
    let wanted = normalize_arn(&u.arn);
    // 1. The identifier: from the ARN, else the listed resource whose ARN property is the ARN.
    let (identifier, props) = match m.identifier(&u.arn) {
        Some(id) => match t.get(cx, &id).await {
            Ok(Some(p)) => (id, p),
            Ok(None) => {
                return Ok(Err(format!(
                    "Cloud Control cannot read it: {} {id} not found (the identifier built from \
                     the ARN names nothing)",
                    t.type_name
                )))
            }
            Err(e) if e.is_throttle() => return Err(e),
            Err(e) => return Ok(Err(format!("Cloud Control cannot read it: {e}"))),
        },
        None => {
            if !lookups.0.contains_key(t.type_name) {
                match t.list_all(cx).await {
                    Ok(l) => {
                        lookups.0.insert(t.type_name, l);
                    }
                    Err(e) if e.is_throttle() => return Err(e),
                    Err(e) => {
                        return Ok(Err(format!(
                            "Cloud Control cannot list {} to find its identifier: {e}",
                            t.type_name
                        )))
                    }
                }
            }
            let found = lookups.0[t.type_name]
                .iter()
                .find(|(id, p)| t.arn_of(id, p).as_deref() == Some(wanted));
            let Some((id, _)) = found else {
                return Ok(Err(format!(
                    "Cloud Control lists no {} whose {} is this ARN",
                    t.type_name,
                    t.arn_property.unwrap_or("ARN")
                )));
            };
            // (read again: a listing may carry fewer properties than GetResource)
            match t.get(cx, id).await {
                Ok(Some(p)) => (id.clone(), p),
                Ok(None) => {
                    return Ok(Err(format!(
                        "Cloud Control cannot read it: {} {id} not found",
                        t.type_name
                    )))
                }
                Err(e) if e.is_throttle() => return Err(e),
                Err(e) => return Ok(Err(format!("Cloud Control cannot read it: {e}"))),
            }
        }
    };
    if crate::cc_types::table().denied_identifier(t.type_name, &identifier) {
        return Ok(Err(format!(
            "{} {identifier} is made and kept by AWS (a default): never deleted",
            t.type_name
        )));
    }
    // 2. The read-back must be the tagged resource, or the mapping was wrong.
    if let Err(why) = same_resource(t, &m, &identifier, &props, wanted) {
        return Ok(Err(format!(
            "Cloud Control read {} {identifier}, but {why}: not the tagged resource, so the \
             mapping is wrong for it; listed only, never deleted",
            t.type_name
        )));
    }
    let f = t.found(&cx.region, &identifier, &u.arn, &u.tags, &props);
    if !sel.matches(&f, now) {
        return Ok(Err(format!(
            "read by Cloud Control as {}, but the other selectors do not match it",
            t.type_name
        )));
    }
    let fp = f.fingerprint(sweep_tag);
    Ok(Ok((f, fp)))
}

/// Why Cloud Control cannot have the matched type in the ARN's region (the scanned region for a
/// global ARN), per the table's regions; `None` when it has it or the table does not know the
/// region.
fn absent_from_region(m: &crate::cc_types::Matched<'_>, scanned: &str) -> Option<String> {
    let table = crate::cc_types::table();
    let region = m
        .fields
        .get("Region")
        .filter(|r| !r.is_empty())
        .map_or(scanned, String::as_str);
    match table.in_region(m.row, region) {
        crate::cc_types::InRegion::No => Some(format!(
            "{} does not exist in {region} (kirikae's type table: the CloudFormation registry \
             of cfn-lint {} has no such type there), so Cloud Control cannot read or delete it: \
             listed only, never deleted",
            m.row.type_name.as_deref().unwrap_or("its type"),
            table
                .sources
                .get("cfn-lint")
                .map(String::as_str)
                .unwrap_or("?")
        )),
        _ => None,
    }
}

/// Whether what Cloud Control read back is the resource the tagged ARN names: its ARN property
/// equals the ARN; without one, the identifier's properties equal the ARN's fields (or, for a
/// type identified by its ARN, the identifier property holds it).
fn same_resource(
    t: &crate::cloudcontrol::CcType,
    m: &crate::cc_types::Matched<'_>,
    identifier: &str,
    props: &serde_json::Value,
    wanted: &str,
) -> Result<(), String> {
    use crate::cc_types::normalize_arn;
    let text = |p: &str| props.get(p).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(p) = t.arn_property {
        if let Some(have) = text(p) {
            return if normalize_arn(&have) == wanted {
                Ok(())
            } else {
                Err(format!("its {p} is {have}"))
            };
        }
    }
    let expected = match t.recipe {
        crate::cc_types::Recipe::Arn => t
            .primary
            .first()
            .map(|p| vec![(p.clone(), wanted.to_string())])
            .unwrap_or_default(),
        _ => m.expected_fields(),
    };
    if expected.is_empty() {
        return Err(format!(
            "it returned neither {} nor the identifier's properties to check it by",
            t.arn_property.unwrap_or("an ARN property")
        ));
    }
    for (p, want) in expected {
        match text(&p) {
            Some(have) if normalize_arn(&have) == want => {}
            Some(have) => return Err(format!("its {p} is {have}, the ARN says {want}")),
            None => return Err(format!("it returned no {p} to check {identifier} by")),
        }
    }
    Ok(())
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What a plan records about the scan.
pub struct ScanOptions {
    pub account: PlanAccount,
    pub regions: Vec<String>,
    pub tag_key: String,
}

/// A new plan id: `sweep-YYYYMMDD-HHMMSS-xxxx` (valid as a tag value and a group name).
pub fn new_plan_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp = kirikae_aws::format_utc(now)
        .replace(['-', ':'], "")
        .replace('T', "-")
        .trim_end_matches('Z')
        .to_string();
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let salt =
        kirikae_aws::state::stable_hash(&[&nanos.to_string(), &std::process::id().to_string()]);
    format!("sweep-{stamp}-{}", &salt[..4])
}

pub fn build_plan(opts: ScanOptions, sel: &Selectors, scanned: Scanned) -> Plan {
    let items = scanned
        .items
        .into_iter()
        .map(|(found, fingerprint)| PlanItem {
            description: found.describe(),
            fingerprint,
            mark: MarkStatus::NotYet,
            found,
            digest: None,
        })
        .collect();
    Plan {
        format: crate::PLAN_FORMAT.to_string(),
        id: new_plan_id(),
        created: kirikae_aws::format_utc(std::time::SystemTime::now()),
        account: opts.account,
        regions: opts.regions,
        tag_key: opts.tag_key,
        selectors: sel.describe(),
        items,
        unknown: scanned.unknown,
        group: None,
        digest: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("old-*", "old-vpc"));
        assert!(glob("*-tg-?", "old-tg-1"));
        assert!(!glob("old-*", "shop-old"));
        assert!(glob("*", ""));
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("90d").unwrap(), 90 * 86_400);
        assert_eq!(parse_age("2w").unwrap(), 14 * 86_400);
        let e = parse_age("90").unwrap_err().to_string();
        assert!(e.contains("e.g. 90d"), "{e}");
        assert!(parse_age("d").is_err());
        assert!(parse_age("5y").is_err());
        assert!(parse_age("-5d").is_err());
        assert_eq!(parse_age(" 30m ").unwrap(), 1_800);
        assert_eq!(parse_age("36500d").unwrap(), 36_500 * 86_400);
        assert_eq!(parse_age("0d").unwrap(), 0);
    }

    #[test]
    fn ages_that_overflow_or_exceed_the_limit_are_refused_with_the_limit() {
        // These panicked (multiply overflow) before the arithmetic was checked.
        for text in [
            "213503982334601d",
            "2562047788015216h",
            "30500568904943w",
            "153722867280912931m",
            "9223372036854775807d",
            "9223372036854775808d",
            "99999999999999999999999999999w",
            "36501d",
            "5215w",
            "876001h",
            "52560001m",
        ] {
            let e = parse_age(text).unwrap_err().to_string();
            assert!(
                e.contains("at most 36500d (100 years)") && e.contains("5214w"),
                "{text}: {e}"
            );
        }
        assert_eq!(parse_age("5214w").unwrap(), 5_214 * 7 * 86_400);
        assert_eq!(parse_age("876000h").unwrap(), 36_500 * 86_400);
        assert_eq!(parse_age("52560000m").unwrap(), 36_500 * 86_400);
    }

    #[test]
    fn the_plan_records_the_age_in_its_own_unit() {
        for given in ["30m", "12h", "90d", "2w", "0w"] {
            let sel = Selectors::parse(&[], &[], &[], Some(given), &[]).unwrap();
            assert_eq!(sel.describe(), [format!("--older-than {given}")]);
        }
        let sel = Selectors::parse(&[], &[], &[], Some("14d"), &[]).unwrap();
        assert_eq!(sel.describe(), ["--older-than 2w"]);
    }

    #[test]
    fn a_scan_needs_a_selector_and_known_types() {
        let e = Selectors::parse(&[], &["ec2:vpc".into()], &[], None, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one selector"), "{e}");
        let e = Selectors::parse(&["a=b".into()], &["ec2:pizza".into()], &[], None, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ec2:vpc"), "{e}");
        let e = Selectors::parse(&[], &[], &[], None, &["idle".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unattached"), "{e}");
        assert!(Selectors::parse(&["a=b".into()], &["ec2".into()], &[], None, &[]).is_ok());
    }

    #[test]
    fn only_data_bearing_table_types_take_the_data_opt_in() {
        let ok = CloudControlScan::new(true, &["AWS::DynamoDB::Table".into()]).unwrap();
        assert_eq!(ok.data_types, ["AWS::DynamoDB::Table"]);
        let e = CloudControlScan::new(true, &["AWS::ECS::Cluster".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a data-bearing type"), "{e}");
        let e = CloudControlScan::new(true, &["AWS::No::Such".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("AWS::DynamoDB::Table"), "{e}");
        let e = CloudControlScan::new(false, &["AWS::DynamoDB::Table".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs --cloud-control"), "{e}");
    }

    #[test]
    fn cc_types_absent_from_a_region_say_so_and_others_pass() {
        use crate::cc_types::{table, InRegion};
        let t = table();
        // A regional row whose type some region's registry lacks, and one that has it.
        let (row, absent, present) = t
            .mapped()
            .filter(|r| r.sample_arn.contains(":ap-northeast-1:"))
            .find_map(|r| {
                let no = t
                    .regions()
                    .iter()
                    .find(|g| t.in_region(r, g) == InRegion::No)?;
                let yes = t
                    .regions()
                    .iter()
                    .find(|g| t.in_region(r, g) == InRegion::Yes)?;
                Some((r, no.clone(), yes.clone()))
            })
            .unwrap();
        let name = row.type_name.as_deref().unwrap();
        let there = |region: &str| {
            let arn = row
                .sample_arn
                .replace(":ap-northeast-1:", &format!(":{region}:"));
            let m = t.match_arn(&arn).unwrap();
            assert_eq!(m.row.type_name.as_deref(), Some(name), "{arn}");
            absent_from_region(&m, "ap-northeast-1")
        };
        let why = there(&absent).expect("refused");
        assert!(
            why.contains(&format!("{name} does not exist in {absent}"))
                && why.contains("never deleted"),
            "{why}"
        );
        assert_eq!(there(&present), None);
        // A region the pinned registry data does not know is not held against the type.
        assert_eq!(there("xx-future-1"), None);
    }

    #[test]
    fn arn_types() {
        assert_eq!(arn_type("arn:aws:ec2:r:1:vpc/vpc-1"), "ec2:vpc");
        assert_eq!(arn_type("arn:aws:s3:::bucket"), "s3");
        assert_eq!(arn_type("arn:aws:rds:r:1:cluster:shop"), "rds:cluster");
    }
}
