//! What kirikae's self-contained HTML pages share (the sweep's review page, the audit report):
//! each is one file that works from a `file://` URL and loads nothing, so everything it shows
//! from AWS, a plan or kirikae.toml goes through [`esc`], and its Content-Security-Policy allows
//! only its own inline style and script, named by [`csp_source`].

use sha2::{Digest, Sha256};

/// HTML-escapes text for element content and double-quoted or single-quoted attribute values.
pub fn esc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The Content-Security-Policy source that allows exactly this inline text (a `<style>` or
/// `<script>` element's content): `'sha256-<base64 of its SHA-256>'`.
pub fn csp_source(text: &str) -> String {
    format!("'sha256-{}'", base64(&Sha256::digest(text.as_bytes())))
}

/// Standard base64 with padding (RFC 4648), as CSP hash sources are written.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_leaves_no_markup_and_keeps_the_rest() {
        assert_eq!(
            esc(r#"<a href="x" title='y'>&</a> 佐藤"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt; 佐藤"
        );
        assert_eq!(esc("plain"), "plain");
    }

    #[test]
    fn base64_pads_as_rfc_4648_does() {
        // RFC 4648, section 10.
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain:?}");
        }
    }

    #[test]
    fn csp_source_is_the_hash_a_browser_computes() {
        // `printf 'body{color:red}' | openssl dgst -sha256 -binary | base64`
        assert_eq!(
            csp_source("body{color:red}"),
            "'sha256-FcQqt3aNlV7AZnGV4zkQRVeCeJOxbMPnQSx258L803E='"
        );
    }
}
