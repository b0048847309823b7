//! CircleCI: signed with `circleci-signature: v1=<hex HMAC-SHA256(secret, body)>` (later versions
//! may be added beside it, comma-separated); type = `type` (`workflow-completed`,
//! `job-completed`), delivery id = `id`, occurred_at = `happened_at`, subject = the project's
//! slug, summary = the workflow or job, its status and branch.

use super::{Incoming, Normalized, Provider};
use crate::payload::{str_at, text};
use crate::signature::Scheme;
use crate::signature::pairs::Pairs;

const SCHEME: Pairs = Pairs {
    header: "circleci-signature",
    separator: ',',
    time: None,
    signature: "v1",
    joiner: "",
    tolerance: 0,
};

#[derive(Debug)]
pub struct CircleCi;

impl Provider for CircleCi {
    fn name(&self) -> &'static str {
        "circleci"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&SCHEME)
    }

    fn with_delivery_id(&self, body: &[u8], delivery_id: &str) -> Option<Vec<u8>> {
        super::with_field(body, "id", delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        n.delivery_id = text(v, "id").or(n.delivery_id.take());
        n.occurred_at = super::rfc3339(v, "happened_at");
        n.subject = text(v, "project/slug");
        let unit = if at_job(v) { "job" } else { "workflow" };
        let name = str_at(v, &format!("{unit}/name"));
        let status = str_at(v, &format!("{unit}/status"));
        let branch = str_at(v, "pipeline/vcs/branch");
        n.summary = name.map(|name| {
            let mut s = format!("{unit} {name}");
            if let Some(st) = status {
                s.push_str(&format!(" {st}"));
            }
            if let Some(b) = branch {
                s.push_str(&format!(" on {b}"));
            }
            s
        });
    }
}

fn at_job(v: &super::Json<'_>) -> bool {
    str_at(v, "type") == Some("job-completed")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn a_workflow_names_its_project_and_status() {
        let body = r#"{"id":"3888f21b","type":"workflow-completed","happened_at":"2021-09-01T22:49:34.317Z","project":{"slug":"gh/acme/app"},"workflow":{"name":"build","status":"failed"},"pipeline":{"vcs":{"branch":"main"}}}"#;
        let n = read("circleci", &HeaderMap::new(), body);
        assert_eq!(n.event_type, "workflow-completed");
        assert_eq!(n.delivery_id.as_deref(), Some("3888f21b"));
        assert_eq!(n.subject.as_deref(), Some("gh/acme/app"));
        assert_eq!(n.summary.as_deref(), Some("workflow build failed on main"));
    }
}
