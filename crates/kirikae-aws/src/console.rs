//! The AWS console's switch-role link for an account.

use kirikae_config::AccountSettings;

/// `https://signin.aws.amazon.com/switchrole?account=...&roleName=...&displayName=...`: opening
/// it (signed in to the jump account) fills in the console's "Switch role" form.
pub fn switch_role_url(account: &AccountSettings, display_name: &str) -> String {
    format!(
        "https://signin.aws.amazon.com/switchrole?account={}&roleName={}&displayName={}",
        account.id,
        encode(account.role_name()),
        encode(display_name)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters: a query value (a role name,
/// a display name, a `redirect_uri` that is itself a URL).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
