//! What needs no AWS: key policies, the journal's replay after a crash, step names.

use kirikae_refresh::preflight::key_policy_allows;
use kirikae_refresh::{Journal, RefreshStep};
use serde_json::json;

fn policy(principal: serde_json::Value, action: serde_json::Value) -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}
    ]})
    .to_string()
}

#[test]
fn a_key_policy_must_give_the_target_account_decrypt_describe_and_create_grant() {
    let all = json!(["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"]);
    assert!(key_policy_allows(
        &policy(
            json!({"AWS": ["arn:aws:iam::222222222222:root"]}),
            all.clone()
        ),
        "222222222222"
    ));
    assert!(key_policy_allows(
        &policy(json!({"AWS": "222222222222"}), json!("kms:*")),
        "222222222222"
    ));
    assert!(key_policy_allows(
        &policy(
            json!({"AWS": "arn:aws:iam::222222222222:role/ops"}),
            json!(["kms:Decrypt", "kms:Describe*", "kms:CreateGrant"])
        ),
        "222222222222"
    ));
    // the owner only
    assert!(!key_policy_allows(
        &policy(
            json!({"AWS": "arn:aws:iam::111111111111:root"}),
            all.clone()
        ),
        "222222222222"
    ));
    // another account
    assert!(!key_policy_allows(
        &policy(
            json!({"AWS": "arn:aws:iam::333333333333:root"}),
            all.clone()
        ),
        "222222222222"
    ));
    // missing CreateGrant (a restore needs it)
    assert!(!key_policy_allows(
        &policy(
            json!({"AWS": "arn:aws:iam::222222222222:root"}),
            json!(["kms:Decrypt", "kms:DescribeKey"])
        ),
        "222222222222"
    ));
    // Deny is not Allow
    let deny = json!({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Action": "kms:*", "Resource": "*"}]})
    .to_string();
    assert!(!key_policy_allows(&deny, "222222222222"));
    assert!(!key_policy_allows("not json", "222222222222"));
}

#[test]
fn the_journal_replays_what_was_done_created_and_removed_and_ignores_a_torn_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::create(dir.path(), "staging", "20261125-010203-abcd").unwrap();
    j.append(
        "started",
        json!({"name": "staging", "keep_on_failure": false}),
    )
    .unwrap();
    j.append(
        "decided",
        json!({"copy_path": "snapshot", "reason": "slot taken"}),
    )
    .unwrap();
    j.append("step_started", json!({"step": "create_snapshot"}))
        .unwrap();
    j.append(
        "created",
        json!({"kind": "snapshot", "account": "prod", "id": "kirikae-staging-x"}),
    )
    .unwrap();
    j.append("step_done", json!({"step": "create_snapshot", "seconds": 1.5, "detail": {"snapshot": "kirikae-staging-x"}})).unwrap();
    j.append(
        "created",
        json!({"kind": "cluster", "account": "dev", "id": "staging-x"}),
    )
    .unwrap();
    j.append(
        "removed",
        json!({"kind": "cluster", "account": "dev", "id": "staging-x"}),
    )
    .unwrap();
    j.append("step_started", json!({"step": "share_snapshot"}))
        .unwrap();
    // a crash in the middle of writing a line
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&j.path)
        .unwrap()
        .write_all(b"{\"event\": \"step_do")
        .unwrap();

    let st = j.replay().unwrap();
    assert_eq!(st.run_id, "20261125-010203-abcd");
    assert_eq!(st.name, "staging");
    assert_eq!(st.copy_path.as_deref(), Some("snapshot"));
    assert!(st.is_done(RefreshStep::CreateSnapshot));
    assert!(!st.is_done(RefreshStep::ShareSnapshot));
    assert_eq!(st.current, Some(RefreshStep::ShareSnapshot));
    assert_eq!(st.left_over().len(), 1);
    assert_eq!(st.left_over()[0].id, "kirikae-staging-x");
    assert_eq!(st.status(), "interrupted (resumable)");
    assert_eq!(
        Journal::find(dir.path(), "20261125-010203-abcd")
            .unwrap()
            .path,
        j.path
    );
    assert!(Journal::find(dir.path(), "nope").is_none());
    assert_eq!(kirikae_refresh::list(dir.path()).len(), 1);
}

#[test]
fn step_names_round_trip() {
    for s in kirikae_refresh::step::ALL {
        assert_eq!(RefreshStep::from_name(s.name()), Some(s));
    }
    assert_eq!(RefreshStep::from_name("stepp"), None);
}
