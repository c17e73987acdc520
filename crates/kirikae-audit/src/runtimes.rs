//! Runtimes: Lambda runtimes, RDS and Aurora engine versions, ElastiCache engines, EKS clusters'
//! Kubernetes versions and the OS of EC2 instances, judged against the [`Lifecycle`] table on one
//! day (`--as-of`, else today).
//!
//! Where AWS answers itself it wins over the table: RDS `DescribeDBMajorEngineVersions` gives
//! each major version's standard and Extended Support dates in the account's region. An
//! instance past the end of standard support carries an estimate of its Extended Support charge
//! per month: vCPUs × the table's rate per vCPU-hour × 730 hours (× 2 with a Multi-AZ standby,
//! which AWS charges too). An EKS cluster in Extended Support carries the difference between
//! EKS's Extended Support and standard price per cluster-hour × 730 hours.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_types::SdkConfig;

use crate::error::AuditError;
use crate::finding::{Finding, Place};
use crate::lifecycle::{Date, Lifecycle, Mark, Row, Stage, SOON_DAYS};
use crate::pages::all;

/// What the runtimes part judges by.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lifecycle: Arc<Lifecycle>,
    /// The day judged (`--as-of`, else today).
    pub as_of: Date,
    /// An AMI older than this many days is reported (`RT-007`).
    pub ami_max_age_days: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            lifecycle: Arc::new(Lifecycle::built_in()),
            as_of: Date::today(),
            ami_max_age_days: 365,
        }
    }
}

/// Hours in an average month, as AWS's price pages count them.
const HOURS_PER_MONTH: f64 = 730.0;

/// Every runtime check in one account and region.
pub async fn check(
    sdk: &SdkConfig,
    place: &Place,
    settings: &Settings,
) -> Result<Vec<Finding>, AuditError> {
    let mut findings = lambda(sdk, place, settings).await?;
    findings.extend(databases(sdk, place, settings).await?);
    findings.extend(caches(sdk, place, settings).await?);
    findings.extend(clusters(sdk, place, settings).await?);
    findings.extend(instances(sdk, place, settings).await?);
    Ok(findings)
}

/// Which table says so, for the evidence.
fn table_source(settings: &Settings, row: &Row) -> String {
    format!(
        "lifecycle table {} of {}; {}",
        settings.lifecycle.origin, settings.lifecycle.date, row.source
    )
}

/// RT-005 for a version still supported whose next end is within [`SOON_DAYS`].
fn soon(
    place: &Place,
    settings: &Settings,
    arn: String,
    what: String,
    row: &Row,
    ending: &str,
    fix: String,
) -> Option<Finding> {
    let Stage::Supported { next: Some(next) } = row.stage(settings.as_of) else {
        return None;
    };
    let days = settings.as_of.days_until(next);
    (days <= SOON_DAYS).then(|| {
        place.finding(
            "RT-005",
            arn,
            format!(
                "{what}: {ending} on {next}, in {days} days (as of {}; {})",
                settings.as_of,
                table_source(settings, row)
            ),
            fix,
        )
    })
}

fn unknown(place: &Place, settings: &Settings, arn: String, what: String) -> Finding {
    place.finding(
        "RT-008",
        arn,
        format!(
            "{what} is not in the lifecycle table ({} of {})",
            settings.lifecycle.origin, settings.lifecycle.date
        ),
        "check the version's support dates with AWS, and use a newer table with --lifecycle \
         FILE (scripts/lifecycle/generate)"
            .to_string(),
    )
}

/// RT-001, RT-002, RT-005: functions on a deprecated runtime, or one whose updates are blocked.
async fn lambda(
    sdk: &SdkConfig,
    place: &Place,
    settings: &Settings,
) -> Result<Vec<Finding>, AuditError> {
    let client = aws_sdk_lambda::Client::new(sdk);
    let functions = all(
        "lambda:ListFunctions",
        client.list_functions().into_paginator().send(),
        |p| p.functions.unwrap_or_default(),
    )
    .await?;
    let table = &settings.lifecycle;
    let mut findings = Vec::new();
    for f in &functions {
        // Container images bring their own runtime.
        let Some(runtime) = f.runtime().map(|r| r.as_str()) else {
            continue;
        };
        let name = f.function_name().unwrap_or_default();
        let arn = f.function_arn().map_or_else(
            || place.arn("lambda", &format!("function:{name}")),
            str::to_string,
        );
        let Some(row) = table.find("lambda", runtime) else {
            if table.covers("lambda") {
                findings.push(unknown(
                    place,
                    settings,
                    arn,
                    format!("{name} runtime {runtime}"),
                ));
            }
            continue;
        };
        let fix = format!(
            "move {name} to a supported {} runtime (lifecycle table: {})",
            runtime_family(runtime),
            newest_supported(table, "lambda", runtime_family(runtime), settings.as_of)
                .unwrap_or_else(|| "see the Lambda runtimes page".to_string())
        );
        let blocked = row
            .end_extended
            .map_or(String::new(), |m| format!("; updates blocked from {m}"));
        match row.stage(settings.as_of) {
            Stage::Ended { since } => findings.push(place.finding(
                "RT-002",
                arn,
                format!(
                    "{name} runs {}: deprecated since {}, function updates blocked since {since} \
                     ({})",
                    row.name(),
                    row.end_standard.map_or("?".to_string(), |m| m.to_string()),
                    table_source(settings, row)
                ),
                fix,
            )),
            Stage::Extended { since, .. } => findings.push(place.finding(
                "RT-001",
                arn,
                format!(
                    "{name} runs {}: deprecated since {since}{blocked} ({})",
                    row.name(),
                    table_source(settings, row)
                ),
                fix,
            )),
            Stage::Supported { .. } => findings.extend(soon(
                place,
                settings,
                arn,
                format!("{name} runs {}", row.name()),
                row,
                "deprecated",
                fix,
            )),
        }
    }
    Ok(findings)
}

/// `python3.9` -> `python`, `nodejs18.x` -> `nodejs`, `java17.al2023` -> `java`.
fn runtime_family(runtime: &str) -> &str {
    let end = runtime
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(runtime.len());
    &runtime[..end]
}

/// The newest version of a family still in standard support on `day` (by release date).
fn newest_supported(table: &Lifecycle, product: &str, family: &str, day: Date) -> Option<String> {
    table
        .rows
        .iter()
        .filter(|r| r.product == product && runtime_family(&r.cycle) == family)
        .filter(|r| matches!(r.stage(day), Stage::Supported { .. }))
        .max_by_key(|r| match r.released {
            Some(Mark::On(d)) => Some(d),
            _ => None,
        })
        .map(|r| r.cycle.clone())
}

/// A DB engine as the table names it, the table's version for it, and the major version
/// `DescribeDBMajorEngineVersions` takes.
struct EngineVersion {
    product: &'static str,
    cycle: String,
    api_major: String,
}

/// `("aurora-mysql", "8.0.mysql_aurora.3.05.2")` -> aurora-mysql 3 (API major 8.0).
fn engine_version(engine: &str, version: &str) -> Option<EngineVersion> {
    let parts: Vec<&str> = version.split('.').collect();
    let two = || parts.get(..2).map(|p| p.join("."));
    let (product, cycle, api_major) = match engine {
        "mysql" => ("rds-mysql", two()?, two()?),
        "mariadb" => ("rds-mariadb", two()?, two()?),
        "postgres" | "aurora-postgresql" => {
            let major: u32 = parts.first()?.parse().ok()?;
            let cycle = if major >= 10 {
                major.to_string()
            } else {
                two()?
            };
            let product = if engine == "postgres" {
                "rds-postgres"
            } else {
                "aurora-postgresql"
            };
            (product, cycle.clone(), cycle)
        }
        "aurora-mysql" | "aurora" => {
            let mysql = two()?;
            // 8.0.mysql_aurora.3.05.2: the Aurora version follows "mysql_aurora".
            let aurora = version
                .split_once("mysql_aurora.")
                .and_then(|(_, v)| v.split('.').next())
                .map(str::to_string)
                .or_else(|| match mysql.as_str() {
                    "5.6" => Some("1".to_string()),
                    "5.7" => Some("2".to_string()),
                    "8.0" => Some("3".to_string()),
                    _ => None,
                })?;
            ("aurora-mysql", aurora, mysql)
        }
        _ => return None,
    };
    Some(EngineVersion {
        product,
        cycle,
        api_major,
    })
}

/// vCPUs of a DB instance class by its size (`db.r6g.2xlarge` -> 8): the sizes AWS uses for
/// every current family; `None` for serverless and unknown sizes (no estimate then).
fn vcpus(class: &str) -> Option<u32> {
    let size = class.rsplit('.').next()?;
    match size {
        "micro" | "small" | "medium" | "large" => Some(2),
        "xlarge" => Some(4),
        s => s
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<u32>().ok())
            .map(|n| n * 4),
    }
}

/// The dates `DescribeDBMajorEngineVersions` gives for one engine and major version.
#[derive(Debug, Clone, Copy, Default)]
struct LiveDates {
    end_standard: Option<Date>,
    end_extended: Option<Date>,
}

async fn live_dates(
    rds: &aws_sdk_rds::Client,
    engine: &str,
    major: &str,
) -> Result<Option<LiveDates>, AuditError> {
    use aws_sdk_rds::types::LifecycleSupportName;

    let request = rds
        .describe_db_major_engine_versions()
        .engine(engine)
        .major_engine_version(major);
    let out = match request.send().await {
        Ok(out) => out,
        // An engine or version AWS no longer describes: the table decides.
        Err(e) if e.as_service_error().is_some() => return Ok(None),
        Err(e) => return Err(AuditError::aws("rds:DescribeDBMajorEngineVersions")(e)),
    };
    let Some(v) = out
        .db_major_engine_versions()
        .iter()
        .find(|v| v.major_engine_version() == Some(major))
    else {
        return Ok(None);
    };
    let mut dates = LiveDates::default();
    for l in v.supported_engine_lifecycles() {
        let end = l
            .lifecycle_support_end_date()
            .map(|t| Date::from_unix(t.secs()));
        match l.lifecycle_support_name() {
            Some(LifecycleSupportName::OpenSourceRdsStandardSupport) => dates.end_standard = end,
            Some(LifecycleSupportName::OpenSourceRdsExtendedSupport) => dates.end_extended = end,
            _ => {}
        }
    }
    Ok((dates.end_standard.is_some() || dates.end_extended.is_some()).then_some(dates))
}

/// RT-003, RT-004, RT-005 for DB instances (Aurora members included: Extended Support is
/// charged per instance).
async fn databases(
    sdk: &SdkConfig,
    place: &Place,
    settings: &Settings,
) -> Result<Vec<Finding>, AuditError> {
    let rds = aws_sdk_rds::Client::new(sdk);
    let instances = all(
        "rds:DescribeDBInstances",
        rds.describe_db_instances().into_paginator().send(),
        |p| p.db_instances.unwrap_or_default(),
    )
    .await?;
    let table = &settings.lifecycle;
    // One DescribeDBMajorEngineVersions per engine and major version in the region.
    let mut live: BTreeMap<(String, String), Option<LiveDates>> = BTreeMap::new();
    let mut findings = Vec::new();
    for i in &instances {
        let (Some(engine), Some(version)) = (i.engine(), i.engine_version()) else {
            continue;
        };
        let Some(ev) = engine_version(engine, version) else {
            continue;
        };
        let id = i.db_instance_identifier().unwrap_or_default();
        let arn = i
            .db_instance_arn()
            .map_or_else(|| place.arn("rds", &format!("db:{id}")), str::to_string);
        let key = (engine.to_string(), ev.api_major.clone());
        if !live.contains_key(&key) {
            let dates = live_dates(&rds, engine, &ev.api_major).await?;
            live.insert(key.clone(), dates);
        }
        let listed = table.find(ev.product, &ev.cycle);
        // The live answer wins; the table's row still names the version and its source.
        let (row, source) = match (live[&key], listed) {
            (Some(d), listed) => (
                Row {
                    product: ev.product.to_string(),
                    cycle: ev.cycle.clone(),
                    label: listed.and_then(|r| r.label.clone()),
                    released: None,
                    end_standard: d.end_standard.map(Mark::On),
                    end_extended: d.end_extended.map(Mark::On),
                    source: "rds:DescribeDBMajorEngineVersions".to_string(),
                },
                format!(
                    "RDS DescribeDBMajorEngineVersions in {} for {engine} {}",
                    place.region, ev.api_major
                ),
            ),
            (None, Some(r)) => (r.clone(), table_source(settings, r)),
            (None, None) => {
                if table.covers(ev.product) {
                    findings.push(unknown(
                        place,
                        settings,
                        arn,
                        format!("{id} {engine} {version}"),
                    ));
                }
                continue;
            }
        };
        let what = format!("{id} runs {engine} {version} ({} {})", ev.product, ev.cycle);
        let fix = format!(
            "upgrade {id} to a major version in standard support (a blue/green deployment keeps \
             the downtime to a switchover)"
        );
        match row.stage(settings.as_of) {
            Stage::Ended { since } => findings.push(place.finding(
                "RT-004",
                arn,
                format!("{what}: Extended Support ended {since}; AWS upgrades it in a maintenance window ({source})"),
                fix,
            )),
            Stage::Extended { since, until } => {
                let charge = estimate(table, &row, i, since, settings.as_of);
                findings.push(place.finding(
                    "RT-003",
                    arn,
                    format!(
                        "{what}: in Extended Support since {since}{}{charge} ({source})",
                        until.map_or(String::new(), |u| format!(", until {u}"))
                    ),
                    fix,
                ))
            }
            Stage::Supported { .. } => findings.extend(soon(
                place,
                settings,
                arn,
                what,
                &row,
                "standard support ends (Extended Support is charged from the day after)",
                fix,
            )),
        }
    }
    Ok(findings)
}

/// `; about USD 146/month (2 vCPUs × 0.100/vCPU-hour, year 1-2, us-east-1 rate; source)`.
fn estimate(
    table: &Lifecycle,
    row: &Row,
    instance: &aws_sdk_rds::types::DbInstance,
    since: Mark,
    day: Date,
) -> String {
    let Some(rate) = table.rate(&row.product) else {
        return String::new();
    };
    let class = instance.db_instance_class().unwrap_or_default();
    let Some(cpus) = vcpus(class) else {
        return format!("; no charge estimate for {class}");
    };
    // Year 3 starts two years after the end of standard support.
    let year_3 = matches!(since, Mark::On(d) if d.days_until(day) > 730) || since == Mark::Ended;
    let (per_hour, band) = if year_3 {
        (rate.year_3, "year 3")
    } else {
        (rate.year_1_2, "years 1-2")
    };
    let standby = instance.multi_az() == Some(true);
    let copies = if standby { 2.0 } else { 1.0 };
    let monthly = f64::from(cpus) * per_hour * HOURS_PER_MONTH * copies;
    format!(
        "; about USD {monthly:.0}/month ({class}: {cpus} vCPUs{} × USD {per_hour:.3}/vCPU-hour, \
         {band}, {} rate: {})",
        if standby {
            " × 2 (Multi-AZ standby)"
        } else {
            ""
        },
        rate.region,
        rate.source
    )
}

/// RT-003, RT-004, RT-005 for ElastiCache Redis OSS (the engine endoflife.date tracks).
async fn caches(
    sdk: &SdkConfig,
    place: &Place,
    settings: &Settings,
) -> Result<Vec<Finding>, AuditError> {
    let client = aws_sdk_elasticache::Client::new(sdk);
    let clusters = all(
        "elasticache:DescribeCacheClusters",
        client.describe_cache_clusters().into_paginator().send(),
        |p| p.cache_clusters.unwrap_or_default(),
    )
    .await?;
    let table = &settings.lifecycle;
    let mut findings = Vec::new();
    for c in &clusters {
        let (Some("redis"), Some(version)) = (c.engine(), c.engine_version()) else {
            continue;
        };
        let id = c.cache_cluster_id().unwrap_or_default();
        let arn = c.arn().map_or_else(
            || place.arn("elasticache", &format!("cluster:{id}")),
            str::to_string,
        );
        let major = version.split('.').next().unwrap_or_default();
        let Some(row) = table.find("elasticache-redis", major) else {
            if table.covers("elasticache-redis") {
                findings.push(unknown(
                    place,
                    settings,
                    arn,
                    format!("{id} redis {version}"),
                ));
            }
            continue;
        };
        let what = format!("{id} runs Redis OSS {version}");
        let fix = format!("upgrade {id} to Valkey or a Redis OSS version in standard support");
        match row.stage(settings.as_of) {
            Stage::Ended { since } => findings.push(place.finding(
                "RT-004",
                arn,
                format!(
                    "{what}: Extended Support ended {since} ({})",
                    table_source(settings, row)
                ),
                fix,
            )),
            Stage::Extended { since, .. } => findings.push(place.finding(
                "RT-003",
                arn,
                format!(
                    "{what}: in Extended Support since {since} ({})",
                    table_source(settings, row)
                ),
                fix,
            )),
            Stage::Supported { .. } => findings.extend(soon(
                place,
                settings,
                arn,
                what,
                row,
                "standard support ends",
                fix,
            )),
        }
    }
    Ok(findings)
}

/// EKS's price per cluster-hour in standard support and in Extended Support (the same in every
/// commercial region), from its pricing page.
const EKS_STANDARD_PER_HOUR: f64 = 0.10;
const EKS_EXTENDED_PER_HOUR: f64 = 0.60;
const EKS_PRICING: &str = "https://aws.amazon.com/eks/pricing/";

/// RT-009, RT-010, RT-005 for EKS clusters: ListClusters, then DescribeCluster for each cluster's
/// version and upgrade policy (a cluster on the STANDARD policy is upgraded by AWS at the end of
/// standard support instead of entering Extended Support).
async fn clusters(
    sdk: &SdkConfig,
    place: &Place,
    settings: &Settings,
) -> Result<Vec<Finding>, AuditError> {
    use aws_sdk_eks::types::SupportType;

    let client = aws_sdk_eks::Client::new(sdk);
    let names = all(
        "eks:ListClusters",
        client.list_clusters().into_paginator().send(),
        |p| p.clusters.unwrap_or_default(),
    )
    .await?;
    let table = &settings.lifecycle;
    let mut findings = Vec::new();
    for name in &names {
        let described = client.describe_cluster().name(name).send().await;
        let cluster = match described {
            Ok(out) => out.cluster,
            // Deleted since it was listed.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(AuditError::aws("eks:DescribeCluster")(e)),
        };
        let Some(cluster) = cluster else {
            continue;
        };
        let Some(version) = cluster.version() else {
            continue;
        };
        let arn = cluster.arn().map_or_else(
            || place.arn("eks", &format!("cluster/{name}")),
            str::to_string,
        );
        let Some(row) = table.find("eks", version) else {
            if table.covers("eks") {
                findings.push(unknown(
                    place,
                    settings,
                    arn,
                    format!("{name} Kubernetes {version}"),
                ));
            }
            continue;
        };
        // AWS's default policy is EXTENDED; STANDARD is said, not assumed.
        let standard_only =
            cluster.upgrade_policy().and_then(|p| p.support_type()) == Some(&SupportType::Standard);
        let what = format!("{name} runs Kubernetes {version} (EKS)");
        let fix = format!(
            "upgrade {name} one minor version at a time to a version in standard support \
             (lifecycle table: {}), after checking its workloads for removed APIs",
            newest_eks(table, settings.as_of).unwrap_or_else(|| "see the EKS versions page".into())
        );
        let source = table_source(settings, row);
        match row.stage(settings.as_of) {
            Stage::Ended { since } => findings.push(place.finding(
                "RT-010",
                arn,
                format!(
                    "{what}: Extended Support ended {since}; AWS upgrades the control plane itself \
                     ({source})"
                ),
                fix,
            )),
            Stage::Extended { since, .. } if standard_only => findings.push(place.finding(
                "RT-010",
                arn,
                format!(
                    "{what}: standard support ended {since} and its upgrade policy is STANDARD: \
                     AWS upgrades the control plane to the next version itself ({source})"
                ),
                fix,
            )),
            Stage::Extended { since, until } => findings.push(place.finding(
                "RT-009",
                arn,
                format!(
                    "{what}: in Extended Support since {since}{}; {} ({source})",
                    until.map_or(String::new(), |u| format!(", until {u}")),
                    eks_estimate()
                ),
                fix,
            )),
            Stage::Supported { .. } => findings.extend(soon(
                place,
                settings,
                arn,
                what,
                row,
                if standard_only {
                    "standard support ends (upgrade policy STANDARD: AWS upgrades it then)"
                } else {
                    "standard support ends (Extended Support is billed per cluster-hour from the \
                     day after)"
                },
                fix,
            )),
        }
    }
    Ok(findings)
}

/// `about USD 365/month more (USD 0.60 instead of 0.10 per cluster-hour × 730 h; source)`.
fn eks_estimate() -> String {
    let monthly = (EKS_EXTENDED_PER_HOUR - EKS_STANDARD_PER_HOUR) * HOURS_PER_MONTH;
    format!(
        "about USD {monthly:.0}/month more than in standard support (USD \
         {EKS_EXTENDED_PER_HOUR:.2} instead of {EKS_STANDARD_PER_HOUR:.2} per cluster-hour × \
         {HOURS_PER_MONTH:.0} h: {EKS_PRICING})"
    )
}

/// The newest Kubernetes version in standard support on `day` (by release date).
fn newest_eks(table: &Lifecycle, day: Date) -> Option<String> {
    table
        .rows
        .iter()
        .filter(|r| r.product == "eks" && matches!(r.stage(day), Stage::Supported { .. }))
        .max_by_key(|r| match r.released {
            Some(Mark::On(d)) => Some(d),
            _ => None,
        })
        .map(|r| r.cycle.clone())
}

/// The Amazon Linux version of an AMI, from its name as Amazon names them: `al2023-ami-...`,
/// `amzn2-ami-...`, `amzn-ami-hvm-2018.03.0...` (the first AMI's release in its name).
fn amazon_linux(name: &str) -> Option<String> {
    if name.starts_with("al2023-ami") {
        return Some("2023".to_string());
    }
    if name.starts_with("amzn2-ami") {
        return Some("2".to_string());
    }
    let rest = name.strip_prefix("amzn-ami-")?;
    // The first YYYY.MM in the rest of the name.
    rest.char_indices().find_map(|(i, _)| {
        let s = rest.get(i..i + 7)?;
        let b = s.as_bytes();
        (b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'.'
            && b[5..].iter().all(u8::is_ascii_digit))
        .then(|| s.to_string())
    })
}

/// RT-006 (an OS past its end of support), RT-007 (an old AMI) for running instances.
async fn instances(
    sdk: &SdkConfig,
    place: &Place,
    settings: &Settings,
) -> Result<Vec<Finding>, AuditError> {
    use aws_sdk_ec2::types::InstanceStateName;

    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let instances = all(
        "ec2:DescribeInstances",
        ec2.describe_instances().into_paginator().send(),
        |p| {
            p.reservations
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.instances.unwrap_or_default())
        },
    )
    .await?;
    let live: Vec<_> = instances
        .iter()
        .filter(|i| {
            !matches!(
                i.state().and_then(|s| s.name()),
                Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
            )
        })
        .filter_map(|i| Some((i.instance_id()?, i.image_id()?)))
        .collect();
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<String> = live.iter().map(|(_, a)| a.to_string()).collect();
    ids.sort();
    ids.dedup();
    let mut images = BTreeMap::new();
    // DescribeImages by id: an image deregistered since is simply absent.
    for chunk in ids.chunks(100) {
        let out = ec2
            .describe_images()
            .set_image_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(AuditError::aws("ec2:DescribeImages"))?;
        for image in out.images.unwrap_or_default() {
            if let Some(id) = image.image_id.clone() {
                images.insert(id, image);
            }
        }
    }
    let table = &settings.lifecycle;
    let mut findings = Vec::new();
    for (instance, ami) in live {
        let arn = place.arn("ec2", &format!("instance/{instance}"));
        let Some(image) = images.get(ami) else {
            continue;
        };
        let name = image.name().unwrap_or_default();
        let platform = image.platform_details().unwrap_or("unknown platform");
        let os = amazon_linux(name).and_then(|v| table.find("amazon-linux", &v));
        let fix = format!("rebuild {instance} from a current AMI (Amazon Linux 2023)");
        if let Some(row) = os {
            if let Stage::Ended { since } | Stage::Extended { since, .. } =
                row.stage(settings.as_of)
            {
                findings.push(place.finding(
                    "RT-006",
                    arn.clone(),
                    format!(
                        "{instance} runs {ami} ({name}, {platform}): Amazon Linux {} support \
                         ended {since} ({})",
                        row.cycle,
                        table_source(settings, row)
                    ),
                    fix.clone(),
                ));
                continue;
            }
        }
        let created = image
            .creation_date()
            .and_then(|c| c.get(..10))
            .and_then(Date::parse);
        if let Some(created) = created {
            let age = created.days_until(settings.as_of);
            if age > settings.ami_max_age_days {
                findings.push(place.finding(
                    "RT-007",
                    arn,
                    format!(
                        "{instance} runs {ami} ({name}, {platform}), created {created}: {age} days \
                         old on {} (more than {})",
                        settings.as_of, settings.ami_max_age_days
                    ),
                    fix,
                ));
            }
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_versions_map_to_the_table_and_the_api() {
        let e = engine_version("aurora-mysql", "8.0.mysql_aurora.3.05.2").unwrap();
        assert_eq!(
            (e.product, e.cycle.as_str(), e.api_major.as_str()),
            ("aurora-mysql", "3", "8.0")
        );
        let e = engine_version("aurora-mysql", "5.7.mysql_aurora.2.11.2").unwrap();
        assert_eq!(e.cycle, "2");
        let e = engine_version("mysql", "5.7.44").unwrap();
        assert_eq!((e.product, e.cycle.as_str()), ("rds-mysql", "5.7"));
        let e = engine_version("postgres", "12.17").unwrap();
        assert_eq!((e.product, e.cycle.as_str()), ("rds-postgres", "12"));
        let e = engine_version("aurora-postgresql", "16.4").unwrap();
        assert_eq!((e.product, e.cycle.as_str()), ("aurora-postgresql", "16"));
        assert!(engine_version("oracle-ee", "19.0.0.0").is_none());
    }

    #[test]
    fn vcpus_follow_the_size() {
        assert_eq!(vcpus("db.t3.micro"), Some(2));
        assert_eq!(vcpus("db.r6g.large"), Some(2));
        assert_eq!(vcpus("db.r6g.xlarge"), Some(4));
        assert_eq!(vcpus("db.r6g.16xlarge"), Some(64));
        assert_eq!(vcpus("db.serverless"), None);
    }

    #[test]
    fn amazon_linux_versions_come_from_the_ami_name() {
        assert_eq!(
            amazon_linux("al2023-ami-2023.6.20250107.0-kernel-6.1-x86_64").as_deref(),
            Some("2023")
        );
        assert_eq!(
            amazon_linux("amzn2-ami-hvm-2.0.20240131.0-x86_64-gp2").as_deref(),
            Some("2")
        );
        assert_eq!(
            amazon_linux("amzn-ami-hvm-2017.09.1.20171103-x86_64-gp2").as_deref(),
            Some("2017.09")
        );
        assert_eq!(
            amazon_linux("ubuntu/images/hvm-ssd/ubuntu-xenial-16.04"),
            None
        );
    }

    #[test]
    fn the_eks_estimate_is_the_difference_per_cluster_hour() {
        let e = eks_estimate();
        assert!(e.starts_with("about USD 365/month more"), "{e}");
        assert!(
            e.contains("USD 0.60 instead of 0.10 per cluster-hour × 730 h"),
            "{e}"
        );
    }

    #[test]
    fn runtime_families() {
        assert_eq!(runtime_family("python3.9"), "python");
        assert_eq!(runtime_family("nodejs18.x"), "nodejs");
        assert_eq!(runtime_family("provided.al2"), "provided.al");
    }
}
