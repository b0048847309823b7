//! Resend and Clerk (`provider = "resend"` / `"clerk"`): Standard Webhooks as Svix sends them
//! (`svix-id`, `svix-timestamp`, `svix-signature`, with the `whsec_` signing secret); type =
//! `type` (`email.bounced`, `user.created`, …), delivery id = `svix-id`, subject and summary
//! from each one's event data.

use super::standard_webhooks::StandardWebhooks;
use super::{Incoming, Normalized, Provider};
use crate::payload::{Json, first, str_at, text};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign};

/// A Svix sender and how its events read.
#[derive(Debug)]
pub struct Svix {
    name: &'static str,
    read: fn(&Json<'_>, &mut Normalized),
}

pub const RESEND: Svix = Svix {
    name: "resend",
    read: read_resend,
};

pub const CLERK: Svix = Svix {
    name: "clerk",
    read: read_clerk,
};

impl Provider for Svix {
    fn name(&self) -> &'static str {
        self.name
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        StandardWebhooks.verify(secrets, d)
    }

    /// As Svix sends it: the Standard Webhooks headers under their `svix-` names.
    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let headers = StandardWebhooks.sign(secret, d);
        headers
            .into_iter()
            .map(|(k, v)| (k.replacen("webhook-", "svix-", 1), v))
            .collect()
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        StandardWebhooks.identify(event_type, delivery_id)
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        StandardWebhooks.read(d, n);
        (self.read)(d.body, n);
    }
}

/// `email.bounced`: subject = the first recipient, summary = the email's subject line.
fn read_resend(v: &Json<'_>, n: &mut Normalized) {
    n.subject = first(v, "data/to")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .or_else(|| text(v, "data/email_id"));
    n.summary = str_at(v, "data/subject").map(|s| format!("{}: {s}", n.event_type));
    n.occurred_at = super::rfc3339(v, "created_at").or(n.occurred_at);
}

/// `user.created`: subject = the object's id, summary = its first email address.
fn read_clerk(v: &Json<'_>, n: &mut Normalized) {
    n.subject = text(v, "data/id");
    let email = first(v, "data/email_addresses").and_then(|e| str_at(e, "email_address"));
    n.summary = email.map(|e| format!("{}: {e}", n.event_type));
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;

    #[test]
    fn resend_and_clerk_events_read() {
        let mut h = HeaderMap::new();
        h.insert("svix-id", "msg_2".parse().unwrap());
        let body = r#"{"type":"email.bounced","created_at":"2024-02-22T23:41:12.126Z","data":{"email_id":"56761188","to":["delivered@resend.dev"],"subject":"Sending this example"}}"#;
        let n = read("resend", &h, body);
        assert_eq!(n.event_type, "email.bounced");
        assert_eq!(n.delivery_id.as_deref(), Some("msg_2"));
        assert_eq!(n.subject.as_deref(), Some("delivered@resend.dev"));
        assert_eq!(
            n.summary.as_deref(),
            Some("email.bounced: Sending this example")
        );
        let body = r#"{"type":"user.created","data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC","email_addresses":[{"email_address":"example@example.org"}]}}"#;
        let n = read("clerk", &h, body);
        assert_eq!(n.event_type, "user.created");
        assert_eq!(
            n.subject.as_deref(),
            Some("user_29w83sxmDNGwOuEthce5gg56FcC")
        );
        assert_eq!(
            n.summary.as_deref(),
            Some("user.created: example@example.org")
        );
    }
}
