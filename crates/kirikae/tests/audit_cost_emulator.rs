//! `kirikae audit cost` against the emulator's Cost Explorer, seeded by `seed story` with the
//! story's bill (emulator/kirikae_emulator/cost_seed.py): the jump account is the payer of prod
//! and dev; dev's EC2 jumps and a fifth of its cost is untagged; prod pays Extended Support;
//! the `owner` key is not an active cost-allocation tag. Counted at the emulator: what kirikae
//! says it asked is what Cost Explorer received, and a second run asks for no closed month.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{run, text, Emulator};

fn admin(emu: &Emulator, method: &str, path: &str) -> Value {
    let out = emu.python(
        "import sys,urllib.request as u; \
         print(u.urlopen(u.Request(sys.argv[1]+sys.argv[3], method=sys.argv[2])).read().decode())",
        &[method, path],
    );
    serde_json::from_str(&out).unwrap()
}

/// The Cost Explorer requests the emulator answered since the last call: (account, operation,
/// start of the period asked).
fn ce_requests(emu: &Emulator) -> Vec<(String, String, String)> {
    let log = admin(emu, "GET", "/_kirikae/ce")["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["account"].as_str().unwrap().to_string(),
                r["operation"].as_str().unwrap().to_string(),
                r["start"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    admin(emu, "DELETE", "/_kirikae/ce/requests");
    log
}

fn calls(emu: &Emulator, operation: &str) -> u64 {
    admin(emu, "GET", "/_kirikae/calls")["calls"][format!("ce {operation}")]
        .as_u64()
        .unwrap_or(0)
}

fn audit_cost(config: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["audit", "cost", "--output", "json"];
    args.extend_from_slice(extra);
    let o = run(config, &args);
    let (out, err) = text(&o);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (o.status.code(), v)
}

fn findings<'a>(v: &'a Value, check: &str) -> Vec<(&'a str, &'a str, &'a str)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| {
            (
                f["account"].as_str().unwrap(),
                f["resource"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect()
}

fn account<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["cost"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v:#}"))
}

#[test]
fn the_payer_answers_for_every_account_once_and_a_closed_month_is_never_asked_twice() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let text_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_before.clone()
            + "\n[audit]\nrequired_tags = [\"env\", \"owner\"]\ncost_account = \"jump\"\n",
    )
    .unwrap();
    admin(&emu, "DELETE", "/_kirikae/calls");
    ce_requests(&emu);

    let (code, v) = audit_cost(&config, &["--months", "6"]);
    assert_eq!(code, Some(1), "Extended Support is critical in prod: {v:#}");
    let months: Vec<&str> = v["cost"]["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(months.len(), 7, "6 closed months and the current one");
    let estimated: Vec<bool> = v["cost"]["estimated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_bool().unwrap())
        .collect();
    assert_eq!(estimated, [false, false, false, false, false, false, true]);

    // What kirikae counted is what Cost Explorer received, all from the payer.
    let received = calls(&emu, "GetCostAndUsage");
    let first = ce_requests(&emu);
    let usage = &v["cost_explorer"];
    assert_eq!(
        usage["get_cost_and_usage"].as_u64().unwrap() as usize,
        first.iter().filter(|r| r.1 == "GetCostAndUsage").count(),
        "{first:?}"
    );
    assert_eq!(received, usage["get_cost_and_usage"].as_u64().unwrap());
    assert!(first.iter().all(|r| r.0 == "100000000000"), "{first:?}");
    assert_eq!(usage["months_from_cache"], 0);
    assert!(
        (usage["usd"].as_f64().unwrap() - usage["requests"].as_f64().unwrap() * 0.01).abs() < 1e-9
    );
    eprintln!("first run: {usage}");

    // The story's bill, per account, as Cost Explorer split it.
    let dev = account(&v, "dev");
    let prod = account(&v, "prod");
    assert_eq!(dev["account_id"], "222222222222");
    assert_eq!(prod["answered_by"], "jump");
    let last = months.len() - 2;
    let ec2 = dev["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Amazon Elastic Compute Cloud - Compute")
        .unwrap();
    assert_eq!(ec2["amounts"][last - 1].as_f64().unwrap(), 150.0);
    assert_eq!(ec2["amounts"][last].as_f64().unwrap(), 530.0);
    let values: Vec<&str> = prod["tag_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["prod", ""], "env=prod and the untagged part");

    // Findings, each where the bill has it and not in the other account.
    assert_eq!(findings(&v, "COST-001"), [("dev", "tag:env", "low")]);
    assert_eq!(
        findings(&v, "COST-002"),
        [("dev", "Amazon Elastic Compute Cloud - Compute", "low")]
    );
    assert_eq!(
        findings(&v, "COST-003"),
        [("prod", "APN1-ExtendedSupport:Yr1-Yr2:MySQL5.7", "critical")]
    );

    // The second run: only the current month is asked; the closed ones come from the cache.
    let (_, again) = audit_cost(&config, &["--months", "6"]);
    let second = ce_requests(&emu);
    let current = format!("{}-01", months[6]);
    assert_eq!(second.len(), 3, "one request per query: {second:?}");
    assert!(
        second.iter().all(|r| r.2 == current),
        "a closed month was asked again: {second:?}"
    );
    assert_eq!(again["cost_explorer"]["requests"], 3);
    assert_eq!(again["cost_explorer"]["months_from_cache"], 18);
    assert_eq!(again["cost"]["accounts"], v["cost"]["accounts"]);
    eprintln!("second run: {}", again["cost_explorer"]);

    // The table says it too.
    let o = run(&config, &["audit", "cost"]);
    let (out, _) = text(&o);
    assert!(
        out.contains("Cost Explorer requests: 3 (0.03 USD); 18 closed months from the cache"),
        "{out}"
    );
    assert!(out.contains("untagged share (env)"), "{out}");
    ce_requests(&emu);

    // TAG-004 comes with the tags part, from the payer: `owner` is inactive, `env` is fine.
    let o = run(&config, &["audit", "tags", "--output", "json"]);
    let (out, err) = text(&o);
    // Progress off a terminal: plain lines on stderr, the last one with every unit done
    // (2 accounts × tags, and the payer's cost-allocation tags).
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("audit: ")).collect();
    assert_eq!(
        lines.first().map(|l| l.split(',').next().unwrap()),
        Some("audit: 0 of 3 done"),
        "every unit planned before the first line: {err}"
    );
    assert_eq!(
        lines.last(),
        Some(&"audit: 3 of 3 done, 0 failed, 0 running, 0 pending"),
        "{err}"
    );
    let tags: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(
        findings(&tags, "TAG-004"),
        [("jump", "tag:owner", "medium")]
    );
    assert_eq!(tags["cost_explorer"]["list_cost_allocation_tags"], 1);
    assert_eq!(tags["cost_explorer"]["get_cost_and_usage"], 0);
    ce_requests(&emu);

    // Without cost_account every account answers for itself: the same findings, each account's
    // own requests (prod cannot see dev's cost, nor dev prod's).
    std::fs::write(
        &config,
        text_before + "\n[audit]\nrequired_tags = [\"env\", \"owner\"]\n",
    )
    .unwrap();
    let (_, own) = audit_cost(&config, &["--months", "2"]);
    let asked = ce_requests(&emu);
    let askers: std::collections::BTreeSet<&str> = asked.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        askers.into_iter().collect::<Vec<_>>(),
        ["111111111111", "222222222222"]
    );
    assert_eq!(account(&own, "dev")["answered_by"], "dev");
    assert_eq!(findings(&own, "COST-001"), [("dev", "tag:env", "low")]);
    assert_eq!(
        findings(&own, "COST-003"),
        [("prod", "APN1-ExtendedSupport:Yr1-Yr2:MySQL5.7", "critical")]
    );

    // A cost_account kirikae.toml does not know is bad input, named.
    let t = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, t + "cost_account = \"payer\"\n").unwrap();
    let (code, v) = audit_cost(&config, &[]);
    assert_eq!(code, Some(2));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("audit.cost_account"),
        "{v}"
    );
}
