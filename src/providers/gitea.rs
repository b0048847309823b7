//! Gitea and Forgejo (`provider = "gitea"` / `"forgejo"`): signed with `X-Gitea-Signature` /
//! `X-Forgejo-Signature` (hex HMAC-SHA256 of the body, no prefix); type = `X-Gitea-Event` /
//! `X-Forgejo-Event` (`push`, `issues`, `pull_request`, …) with the payload's `action`, delivery
//! id = `X-Gitea-Delivery` / `X-Forgejo-Delivery`, subject = the repository's full name.

use std::sync::LazyLock;

use super::{Incoming, Normalized, Provider, header};
use crate::payload::{str_at, text};
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

/// Gitea, or Forgejo (which names its headers after itself).
#[derive(Debug)]
pub struct Gitea {
    name: &'static str,
    /// `Gitea` or `Forgejo`, as in the headers.
    prefix: &'static str,
    scheme: &'static LazyLock<HmacScheme>,
}

static GITEA: LazyLock<HmacScheme> = LazyLock::new(|| scheme("X-Gitea-Signature"));
static FORGEJO: LazyLock<HmacScheme> = LazyLock::new(|| scheme("X-Forgejo-Signature"));

fn scheme(header: &str) -> HmacScheme {
    HmacScheme::new(header, "", Algorithm::Sha256, Encoding::Hex, "{body}")
}

pub const GITEA_PROVIDER: Gitea = Gitea {
    name: "gitea",
    prefix: "Gitea",
    scheme: &GITEA,
};

pub const FORGEJO_PROVIDER: Gitea = Gitea {
    name: "forgejo",
    prefix: "Forgejo",
    scheme: &FORGEJO,
};

impl Provider for Gitea {
    fn name(&self) -> &'static str {
        self.name
    }

    fn timed(&self) -> bool {
        false
    }

    fn type_in_headers(&self) -> bool {
        true
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&**self.scheme)
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        let p = self.prefix;
        let mut headers = vec![(format!("X-{p}-Delivery"), delivery_id.to_owned())];
        headers.extend(event_type.map(|t| (format!("X-{p}-Event"), t.to_owned())));
        headers
    }

    fn infer_type(&self, body: &super::Json<'_>) -> Option<&'static str> {
        super::github::GitHub.infer_type(body)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let lower = self.prefix.to_ascii_lowercase();
        let h = d.headers;
        // Forgejo also sends Gitea's headers; its own come first.
        let event = header(h, &format!("x-{lower}-event")).or_else(|| header(h, "x-gitea-event"));
        if let Some(e) = event {
            n.event_type = match str_at(d.body, "action") {
                Some(a) if !a.is_empty() => format!("{e}.{a}"),
                _ => e,
            };
        }
        n.delivery_id = header(h, &format!("x-{lower}-delivery"))
            .or_else(|| header(h, "x-gitea-delivery"))
            .or(n.delivery_id.take());
        n.subject = text(d.body, "repository/full_name");
        n.summary = generic_summary(d, &n.event_type);
    }
}

/// `push to main by alice: 2 commits` and the like, from the fields Gitea shares with GitHub.
fn generic_summary(d: &Incoming<'_>, event_type: &str) -> Option<String> {
    let v = d.body;
    let title = str_at(v, "pull_request/title").or_else(|| str_at(v, "issue/title"));
    let who = str_at(v, "sender/login").or_else(|| str_at(v, "pusher/login"));
    let what = match (title, str_at(v, "ref")) {
        (Some(t), _) => t.to_owned(),
        (None, Some(r)) => r.trim_start_matches("refs/heads/").to_owned(),
        _ => return None,
    };
    Some(match who {
        Some(w) => format!("{event_type} {what} by {w}"),
        None => format!("{event_type} {what}"),
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn forgejo_and_gitea_headers_name_the_event() {
        let body = r#"{"action":"opened","pull_request":{"title":"Fix it"},"repository":{"full_name":"a/b"},"sender":{"login":"alice"}}"#;
        for (provider, prefix) in [("gitea", "gitea"), ("forgejo", "forgejo")] {
            let mut h = HeaderMap::new();
            h.insert(
                format!("x-{prefix}-event")
                    .parse::<axum::http::HeaderName>()
                    .unwrap(),
                "pull_request".parse().unwrap(),
            );
            h.insert(
                format!("x-{prefix}-delivery")
                    .parse::<axum::http::HeaderName>()
                    .unwrap(),
                "d-1".parse().unwrap(),
            );
            let n = read(provider, &h, body);
            assert_eq!(n.event_type, "pull_request.opened");
            assert_eq!(n.delivery_id.as_deref(), Some("d-1"));
            assert_eq!(n.subject.as_deref(), Some("a/b"));
            assert_eq!(
                n.summary.as_deref(),
                Some("pull_request.opened Fix it by alice")
            );
        }
    }
}
