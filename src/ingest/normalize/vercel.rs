//! Vercel: the current format (`type: "deployment.succeeded"`, `payload.deployment`,
//! `payload.project`) and the older one (`type: "deployment"`, flat `payload`). Delivery id = the
//! event `id`, occurred_at = `createdAt` (milliseconds), subject = the project.

use super::{Body, Normalized, text, unix};

pub fn apply(n: &mut Normalized, body: &Body<'_>) {
    let v = body.value();
    if let Some(t) = text(&v, "/type") {
        n.event_type = t;
    }
    n.delivery_id = text(&v, "/id").or(n.delivery_id.take());
    n.occurred_at = unix(&v, "/createdAt", true);
    let p = |ptr: &str| text(&v, &format!("/payload{ptr}"));
    n.subject = p("/project/name")
        .or_else(|| p("/deployment/name"))
        .or_else(|| p("/project/id"))
        .or_else(|| p("/project"))
        .or_else(|| p("/name"));
    let url = p("/deployment/url")
        .or_else(|| p("/url"))
        .unwrap_or_default();
    let sha =
        p("/deployment/meta/githubCommitSha").or_else(|| p("/deployment/meta/githubCommitSha"));
    n.summary = Some(format!(
        "{} {} {url}{}",
        n.event_type,
        n.subject.as_deref().unwrap_or("?"),
        sha.map(|s| format!(" ({})", &s[..s.len().min(7)]))
            .unwrap_or_default()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::PayloadEncoding;

    fn run(json: &str) -> Normalized {
        let mut n = Normalized::default();
        apply(
            &mut n,
            &Body {
                encoding: PayloadEncoding::Json,
                json: json.trim(),
            },
        );
        n
    }

    #[test]
    fn both_payload_formats() {
        let new = run(include_str!(
            "../../../tests/fixtures/vercel/deployment.created.json"
        ));
        assert_eq!(new.event_type, "deployment.created");
        assert!(new.delivery_id.unwrap().starts_with("uev_"));
        assert!(new.summary.unwrap().contains("(c163f0e)"));
        assert!(new.occurred_at.is_some());
        let old = run(include_str!(
            "../../../tests/fixtures/vercel/sentry.deployment.old-format.body"
        ));
        assert_eq!(old.event_type, "deployment");
        assert_eq!(old.subject.as_deref(), Some("nextjsblog-demo"));
    }
}
