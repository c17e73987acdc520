//! `kirikae accounts bootstrap`: the CloudFormation templates pass cfn-lint, the Terraform modules
//! are as `terraform fmt` writes them, and both, parsed back, describe the same roles, groups and
//! policies, with the conditions a security review looks for.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use kirikae_bootstrap::policy::normalise;
use serde_json::{json, Value};
use support::{run, text, venv_bin};

const CONFIG: &str = r#"
[aws]
region = "ap-northeast-1"

[accounts.prod]
id = "111111111111"
role = "arn:aws:iam::111111111111:role/kirikae/ops"
alias = "production"
protected = true

[accounts.dev]
id = "222222222222"
role = "arn:aws:iam::222222222222:role/kirikae/ops"

[bootstrap]
jump_account = "000000000000"
mfa_max_age_seconds = 28800
protected_mfa_max_age_seconds = 900
max_session_hours = 4

[bootstrap.role_kinds.ops]
managed_policies = ["arn:aws:iam::aws:policy/PowerUserAccess"]

[bootstrap.role_kinds.read-only]
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
group = "auditors"

[bootstrap.runner]
principal = "arn:aws:iam::000000000000:role/ci-nightly"
managed_policies = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
jobs = ["refresh-source", "refresh-target"]
max_session_hours = 6
"#;

/// What one template or module makes, in comparable form.
#[derive(Debug, Default, PartialEq)]
struct Made {
    /// role name → (path, MaxSessionDuration, normalised trust, managed policy ARNs)
    roles: BTreeMap<String, (String, u64, Value, Vec<String>)>,
    /// role name → inline policy name → normalised document
    inline: BTreeMap<String, BTreeMap<String, Value>>,
    /// group name → (path, inline policy name → normalised document)
    groups: BTreeMap<String, (String, BTreeMap<String, Value>)>,
}

fn bootstrap(dir: &Path, format: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("kirikae.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = dir.join("out");
    let o = run(
        &config,
        &[
            "accounts",
            "bootstrap",
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("prod") && stdout.contains("member-protected"),
        "{stdout}"
    );
    out
}

// ---- CloudFormation, read back ----

/// Resolves `Fn::Sub` and `Ref` against the parameters' defaults (partition `aws`).
fn cfn_resolve(v: &Value, params: &BTreeMap<String, String>) -> Value {
    let sub = |s: &str| {
        let mut s = s.replace("${AWS::Partition}", "aws");
        for (k, v) in params {
            s = s.replace(&format!("${{{k}}}"), v);
        }
        assert!(!s.contains("${"), "an unresolved reference in {s}");
        s
    };
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::Sub") => {
            json!(sub(o["Fn::Sub"].as_str().unwrap()))
        }
        Value::Object(o) if o.len() == 1 && o.contains_key("Ref") => {
            json!(params[o["Ref"].as_str().unwrap()].clone())
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), cfn_resolve(v, params)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| cfn_resolve(v, params)).collect()),
        other => other.clone(),
    }
}

fn read_cfn(file: &Path) -> Made {
    let t: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let params = t
        .get("Parameters")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .map(|(k, v)| {
                    let d = &v["Default"];
                    (k.clone(), d.as_str().map_or(d.to_string(), str::to_string))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut made = Made::default();
    for r in t["Resources"].as_object().unwrap().values() {
        let p = cfn_resolve(&r["Properties"], &params);
        match r["Type"].as_str().unwrap() {
            "AWS::IAM::Role" => {
                assert_eq!(
                    p["Tags"],
                    json!([{"Key": "managed-by", "Value": "kirikae"}])
                );
                let session = &p["MaxSessionDuration"];
                let session = session
                    .as_u64()
                    .unwrap_or_else(|| session.as_str().unwrap().parse().unwrap());
                let mut managed = serde_json::from_value::<Vec<String>>(
                    p.get("ManagedPolicyArns").cloned().unwrap_or(json!([])),
                )
                .unwrap();
                managed.sort();
                let inline = p
                    .get("Policies")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|q| {
                                (
                                    q["PolicyName"].as_str().unwrap().to_string(),
                                    normalise(&q["PolicyDocument"]),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                made.inline
                    .insert(p["RoleName"].as_str().unwrap().into(), inline);
                made.roles.insert(
                    p["RoleName"].as_str().unwrap().into(),
                    (
                        p["Path"].as_str().unwrap().into(),
                        session,
                        normalise(&p["AssumeRolePolicyDocument"]),
                        managed,
                    ),
                );
            }
            "AWS::IAM::Group" => {
                let policies = p["Policies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|q| {
                        (
                            q["PolicyName"].as_str().unwrap().to_string(),
                            normalise(&q["PolicyDocument"]),
                        )
                    })
                    .collect();
                made.groups.insert(
                    p["GroupName"].as_str().unwrap().into(),
                    (p["Path"].as_str().unwrap().into(), policies),
                );
            }
            other => panic!("unexpected resource type {other}"),
        }
    }
    made
}

// ---- Terraform, read back (the few shapes bootstrap writes) ----

/// `resource "<type>" "<id>" { ... }` blocks: (type, id, attribute → raw value text).
fn tf_blocks(text: &str) -> Vec<(String, String, BTreeMap<String, String>)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let header = line.trim_end_matches(" {").split('"').collect::<Vec<_>>();
        if !(line.starts_with("resource ") || line.starts_with("variable ")) || !line.ends_with('{')
        {
            continue;
        }
        let (kind, id) = if line.starts_with("variable ") {
            ("variable".to_string(), header[1].to_string())
        } else {
            (header[1].to_string(), header[3].to_string())
        };
        let mut attrs = BTreeMap::new();
        while let Some(l) = lines.next() {
            if l == "}" {
                break;
            }
            let Some((k, v)) = l.trim().split_once(" = ") else {
                continue;
            };
            let k = k.trim().to_string();
            let v = if v == "<<-EOT" {
                let mut body = String::new();
                for h in lines.by_ref() {
                    if h.trim() == "EOT" {
                        break;
                    }
                    body.push_str(h);
                    body.push('\n');
                }
                body
            } else if v == "{" {
                let mut body = String::new();
                for h in lines.by_ref() {
                    if h.trim() == "}" {
                        break;
                    }
                    body.push_str(h.trim());
                    body.push(';');
                }
                body
            } else {
                v.to_string()
            };
            attrs.insert(k, v);
        }
        blocks.push((kind, id, attrs));
    }
    blocks
}

fn read_tf(file: &Path) -> Made {
    let text = std::fs::read_to_string(file).unwrap();
    let blocks = tf_blocks(&text);
    let vars = blocks
        .iter()
        .filter(|b| b.0 == "variable")
        .map(|b| {
            (
                format!("var.{}", b.1),
                b.2["default"].trim_matches('"').to_string(),
            )
        })
        .collect::<BTreeMap<_, _>>();
    let resolve = |s: &str| {
        let mut s = s.replace("${data.aws_partition.current.partition}", "aws");
        for (k, v) in &vars {
            s = s.replace(&format!("${{{k}}}"), v);
        }
        assert!(!s.contains("${"), "an unresolved reference in {s}");
        s
    };
    let find = |ty: &str, id: &str| {
        blocks
            .iter()
            .find(|b| b.0 == ty && b.1 == id)
            .map(|b| b.2.clone())
    };
    let mut made = Made::default();
    for (ty, id, a) in &blocks {
        match ty.as_str() {
            "aws_iam_role" => {
                assert_eq!(a["tags"], "managed-by = \"kirikae\";");
                let session = a["max_session_duration"].as_str();
                let session = vars
                    .get(session)
                    .map_or(session, String::as_str)
                    .parse()
                    .unwrap();
                let exclusive = find("aws_iam_role_policy_attachments_exclusive", id)
                    .expect("every role has its exclusive attachments");
                let mut managed: Vec<String> =
                    serde_json::from_str(&exclusive["policy_arns"]).unwrap();
                managed.sort();
                // The attachments themselves match the exclusive list.
                let attached = find("aws_iam_role_policy_attachment", id)
                    .map(|a| a["for_each"].clone())
                    .unwrap_or_else(|| "toset([])".into());
                let mut attached: Vec<String> = serde_json::from_str(
                    attached.trim_start_matches("toset(").trim_end_matches(')'),
                )
                .unwrap();
                attached.sort();
                assert_eq!(attached, managed, "role {id}");
                let exclusive = find("aws_iam_role_policies_exclusive", id).unwrap();
                let mut names: Vec<String> =
                    serde_json::from_str(&exclusive["policy_names"]).unwrap();
                names.sort();
                let inline: BTreeMap<String, Value> = blocks
                    .iter()
                    .filter(|b| {
                        b.0 == "aws_iam_role_policy"
                            && b.2["role"] == format!("aws_iam_role.{id}.name")
                    })
                    .map(|b| {
                        let doc: Value = serde_json::from_str(&resolve(&b.2["policy"])).unwrap();
                        (b.2["name"].trim_matches('"').to_string(), normalise(&doc))
                    })
                    .collect();
                assert_eq!(
                    inline.keys().cloned().collect::<Vec<_>>(),
                    names,
                    "role {id}: the exclusive list names exactly its inline policies"
                );
                made.inline
                    .insert(a["name"].trim_matches('"').into(), inline);
                let trust: Value =
                    serde_json::from_str(&resolve(&a["assume_role_policy"])).unwrap();
                made.roles.insert(
                    a["name"].trim_matches('"').into(),
                    (
                        a["path"].trim_matches('"').into(),
                        session,
                        normalise(&trust),
                        managed,
                    ),
                );
            }
            "aws_iam_group" => {
                let policy = find("aws_iam_group_policy", id).unwrap();
                assert_eq!(policy["group"], format!("aws_iam_group.{id}.name"));
                let exclusive = find("aws_iam_group_policies_exclusive", id).unwrap();
                assert_eq!(
                    exclusive["policy_names"],
                    format!("[aws_iam_group_policy.{id}.name]")
                );
                let attachments = find("aws_iam_group_policy_attachments_exclusive", id).unwrap();
                assert_eq!(attachments["policy_arns"], "[]");
                let doc: Value = serde_json::from_str(&resolve(&policy["policy"])).unwrap();
                made.groups.insert(
                    a["name"].trim_matches('"').into(),
                    (
                        a["path"].trim_matches('"').into(),
                        BTreeMap::from([(
                            policy["name"].trim_matches('"').to_string(),
                            normalise(&doc),
                        )]),
                    ),
                );
            }
            _ => {}
        }
    }
    made
}

#[test]
fn cloudformation_and_terraform_describe_the_same_structure() {
    let dir = tempfile::tempdir().unwrap();
    let cfn = bootstrap(&dir.path().join("c"), "cloudformation");
    let tf = bootstrap(&dir.path().join("t"), "terraform");
    for kind in ["jump", "member", "member-protected"] {
        let c = read_cfn(&cfn.join(format!("cloudformation/{kind}.json")));
        let t = read_tf(&tf.join(format!("terraform/{kind}/main.tf")));
        assert_eq!(c, t, "{kind}: CloudFormation and Terraform differ");
    }

    let jump_mfa = |age: &str| {
        normalise(&json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": "000000000000"},
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": true},
                          "NumericLessThan": {"aws:MultiFactorAuthAge": age}}}]}))
    };
    let member = read_cfn(&cfn.join("cloudformation/member.json"));
    let protected = read_cfn(&cfn.join("cloudformation/member-protected.json"));
    // The people's roles: only the jump account, only with MFA, the stricter age and the
    // configured session length in protected accounts.
    assert_eq!(
        member.roles["ops"],
        (
            "/kirikae/".into(),
            4 * 3600,
            jump_mfa("28800"),
            vec!["arn:aws:iam::aws:policy/PowerUserAccess".to_string()]
        )
    );
    assert_eq!(protected.roles["ops"].1, 3600);
    assert_eq!(protected.roles["ops"].2, jump_mfa("900"));
    assert_eq!(protected.roles["read-only"].2, jump_mfa("900"));
    // The runner: one principal, no MFA, its own session length.
    let runner = &member.roles["kirikae-unattended"];
    assert_eq!(runner.1, 6 * 3600);
    assert_eq!(
        runner.2,
        normalise(&json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam::000000000000:role/ci-nightly"}}]}))
    );
    // The runner's job policies: exactly the refresh's actions in each account, nothing else.
    let runner_inline = &member.inline["kirikae-unattended"];
    let source_actions = runner_inline["kirikae-refresh-source"]["Statement"][0]["Action"].clone();
    let target_actions = runner_inline["kirikae-refresh-target"]["Statement"][0]["Action"].clone();
    for a in [
        "rds:CreateDBClusterSnapshot",
        "ram:CreateResourceShare",
        "kms:GetKeyPolicy",
    ] {
        assert!(
            source_actions.as_array().unwrap().contains(&json!(a)),
            "{a}"
        );
        assert!(
            !target_actions.as_array().unwrap().contains(&json!(a)),
            "{a}"
        );
    }
    for a in [
        "rds:RestoreDBClusterToPointInTime",
        "route53:ChangeResourceRecordSets",
    ] {
        assert!(
            target_actions.as_array().unwrap().contains(&json!(a)),
            "{a}"
        );
    }
    for actions in [&source_actions, &target_actions] {
        assert!(
            !actions.to_string().contains('*'),
            "no wildcard actions: {actions}"
        );
        assert!(
            !actions.to_string().contains("sts:AssumeRole\""),
            "{actions}"
        );
    }
    assert!(
        member.inline["ops"].is_empty(),
        "people's roles get managed policies only"
    );
    for file in ["member", "member-protected"] {
        let text =
            std::fs::read_to_string(cfn.join(format!("cloudformation/{file}.json"))).unwrap();
        assert!(
            !text.contains("ExternalId"),
            "no ExternalId: the console cannot pass one"
        );
    }

    // The jump account: one group per kind, sts:AssumeRole on exactly those roles, with MFA.
    let jump = read_cfn(&cfn.join("cloudformation/jump.json"));
    assert_eq!(
        jump.groups.keys().collect::<Vec<_>>(),
        ["auditors", "kirikae-ops"]
    );
    let (path, policies) = &jump.groups["auditors"];
    assert_eq!(path, "/kirikae/");
    assert_eq!(
        policies["kirikae-assume-read-only"],
        normalise(&json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Resource": ["arn:aws:iam::111111111111:role/kirikae/read-only",
                         "arn:aws:iam::222222222222:role/kirikae/read-only"],
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}))
    );
    assert!(jump.roles.is_empty());
}

#[test]
fn cloudformation_templates_pass_cfn_lint() {
    let dir = tempfile::tempdir().unwrap();
    let out = bootstrap(dir.path(), "cloudformation");
    let files = ["jump", "member", "member-protected"]
        .map(|k| out.join(format!("cloudformation/{k}.json")));
    let o = Command::new(venv_bin("cfn-lint"))
        .args(&files)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&o);
    assert!(
        o.status.success(),
        "cfn-lint found problems:\n{stdout}{stderr}"
    );

    // And the linter does catch a broken template (so a pass above means something).
    let broken = std::fs::read_to_string(&files[1]).unwrap().replace(
        "\"MaxSessionDuration\": {\n          \"Ref\"",
        "\"MaxSesionDuration\": {\n          \"Ref\"",
    );
    assert!(broken.contains("MaxSesionDuration"));
    std::fs::write(&files[1], broken).unwrap();
    let o = Command::new(venv_bin("cfn-lint"))
        .arg(&files[1])
        .output()
        .unwrap();
    assert!(!o.status.success(), "cfn-lint accepted a misspelt property");
}

#[test]
fn terraform_modules_are_formatted_as_terraform_fmt_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = bootstrap(dir.path(), "terraform");
    let Ok(o) = Command::new("terraform")
        .args(["fmt", "-check", "-diff", "-recursive"])
        .arg(out.join("terraform"))
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .output()
    else {
        eprintln!("terraform is not installed: the formatting check is skipped");
        return;
    };
    let (stdout, stderr) = text(&o);
    assert!(
        o.status.success(),
        "terraform fmt would change:\n{stdout}{stderr}"
    );
    for kind in ["jump", "member", "member-protected"] {
        assert!(out.join(format!("terraform/{kind}/main.tf")).is_file());
    }
}

#[test]
fn bootstrap_without_a_bootstrap_section_says_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kirikae.toml");
    let head = CONFIG
        .split("[bootstrap]")
        .next()
        .unwrap()
        .replace("/kirikae/", "/");
    std::fs::write(&config, head).unwrap();
    let o = run(
        &config,
        &[
            "accounts",
            "bootstrap",
            "--format",
            "terraform",
            "--out",
            dir.path().join("o").to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("no [bootstrap] section"), "{stderr}");
    assert!(stderr.contains("jump_account"), "{stderr}");
    assert!(!dir.path().join("o").exists(), "nothing is written");
}

/// The story's seed (emulator/kirikae_emulator/seed.py) deploys committed templates, so that it
/// runs without a Rust build: they must be what this binary writes for the story's config.
#[test]
fn the_story_deploys_the_templates_this_binary_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kirikae.toml");
    std::fs::write(dir.path().join("credentials"), "").unwrap();
    let o = Command::new(venv_bin("python"))
        .args([
            "-c",
            "import sys\nfrom pathlib import Path\nfrom kirikae_emulator.seed import render_config, STORY_BOOTSTRAP\n\
             Path(sys.argv[1]).write_text(render_config('http://127.0.0.1:9', \
             'arn:aws:iam::100000000000:mfa/hanako', Path(sys.argv[1]).with_name('mfa.secret')) \
             + STORY_BOOTSTRAP)",
            config.to_str().unwrap(),
        ])
        .env("PYTHONPATH", support::repo_root().join("emulator"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{:?}", text(&o));
    let out = dir.path().join("out");
    let o = run(
        &config,
        &[
            "accounts",
            "bootstrap",
            "--format",
            "cloudformation",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let committed = support::repo_root().join("emulator/kirikae_emulator/story_bootstrap");
    for kind in ["jump", "member", "member-protected"] {
        let file = format!("cloudformation/{kind}.json");
        let want = std::fs::read_to_string(out.join(&file)).unwrap();
        let have = std::fs::read_to_string(committed.join(&file)).unwrap_or_default();
        assert!(
            want == have,
            "{} is not what `kirikae accounts bootstrap` writes for the story's config: \
             regenerate it (kirikae accounts bootstrap --format cloudformation --out \
             emulator/kirikae_emulator/story_bootstrap --config <a seeded story's kirikae.toml>)",
            committed.join(&file).display()
        );
    }
}

#[test]
fn bootstrap_names_cloud_control_types_the_sweep_table_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kirikae.toml");
    let with_types = CONFIG.replace(
        "jobs = [\"refresh-source\", \"refresh-target\"]",
        "jobs = [\"sweep\"]\ncloud_control_types = [\"AWS::Events::Rule\", \"AWS::Events::Rules\"]",
    );
    std::fs::write(&config, with_types).unwrap();
    let o = run(
        &config,
        &[
            "accounts",
            "bootstrap",
            "--format",
            "cloudformation",
            "--out",
            dir.path().join("o").to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("bootstrap.runner.cloud_control_types")
            && stderr.contains("AWS::Events::Rules"),
        "{stderr}"
    );
    assert!(!dir.path().join("o").exists(), "nothing is written");
}
