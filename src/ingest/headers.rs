//! Which request headers are stored, and how credentials are kept out of them.

use axum::http::HeaderMap;
use serde_json::{Map, Value};

/// Shown in place of a credential-bearing header's value.
pub const REDACTED: &str = "[redacted]";

/// Dropped outright: they carry the caller's credentials and nothing useful for debugging.
const DROPPED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Name fragments whose values are secrets or derived from secrets. The header's presence helps
/// debugging ("was a signature sent?"), its value must never be stored.
const SECRET_FRAGMENTS: &[&str] = &[
    "token",
    "secret",
    "signature",
    "password",
    "passwd",
    "auth",
    "session",
    "credential",
    "key",
    // Signatures under other names: Airtable's MAC, Trello's.
    "-mac",
    "trello-webhook",
];

/// The headers to store: lower-case names, values as text (non-UTF-8 bytes replaced), repeated
/// headers joined with ", ", credentials dropped or redacted.
pub fn safe_headers(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        let name = name.as_str();
        if DROPPED.contains(&name) {
            continue;
        }
        let value = if SECRET_FRAGMENTS.iter().any(|f| name.contains(f)) {
            REDACTED.to_owned()
        } else {
            headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.insert(name.to_owned(), Value::String(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn credentials_are_dropped_or_redacted_and_the_rest_kept() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        h.insert("cookie", HeaderValue::from_static("s=1"));
        h.insert("proxy-authorization", HeaderValue::from_static("Basic x"));
        h.insert("x-hub-signature-256", HeaderValue::from_static("sha256=ff"));
        h.insert("x-gitlab-token", HeaderValue::from_static("glpat"));
        h.insert("x-webhook-secret", HeaderValue::from_static("shh"));
        h.insert("x-github-event", HeaderValue::from_static("push"));
        for (name, value) in [
            ("x-webhook-password", "pw1"),
            ("x-passwd", "pw2"),
            ("x-auth-user", "pw3"),
            ("x-session-id", "pw4"),
            ("x-credentials", "pw5"),
            ("x-api-key", "pw6"),
            ("x-signing-key", "pw7"),
            ("x-airtable-content-mac", "pw8"),
            ("x-trello-webhook", "pw9"),
            ("x-telegram-bot-api-secret-token", "pwa"),
            ("x-hook-secret", "pwb"),
        ] {
            h.insert(name, HeaderValue::from_static(value));
        }
        h.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        h.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        let out = safe_headers(&h);
        let stored = serde_json::to_string(&out).unwrap();
        for secret in ["abc", "s=1", "Basic", "sha256=ff", "glpat", "shh", "pw"] {
            assert!(!stored.contains(secret), "{secret} leaked into {stored}");
        }
        assert_eq!(out["x-hub-signature-256"], REDACTED);
        assert_eq!(out["x-gitlab-token"], REDACTED);
        assert_eq!(out["x-github-event"], "push");
        assert_eq!(out["x-forwarded-for"], "1.1.1.1, 2.2.2.2");
        assert!(!out.contains_key("authorization"));
    }
}
