//! Dropbox: signed with `X-Dropbox-Signature` (hex HMAC-SHA256 of the body, keyed with the app
//! secret). Before it sends anything, Dropbox verifies the URL with a GET carrying `?challenge=…`,
//! which is answered with the challenge itself as `text/plain` (and `nosniff`), storing nothing.
//! A notification names the accounts whose files changed (`list_folder.accounts`): type =
//! `list_folder`, subject = the first account, summary = how many.

use std::sync::LazyLock;

use axum::http::Method;

use super::{Answer, Incoming, Normalized, Provider};
use crate::payload::{Json, at};
use crate::secret::Secret;
use crate::signature::Delivery;
use crate::signature::{Algorithm, Encoding, HmacScheme, Scheme};

/// `X-Dropbox-Signature: <hex HMAC-SHA256(app secret, body)>`.
static SCHEME: LazyLock<HmacScheme> = LazyLock::new(|| {
    HmacScheme::new(
        "X-Dropbox-Signature",
        "",
        Algorithm::Sha256,
        Encoding::Hex,
        "{body}",
    )
});

/// The longest challenge answered (Dropbox's are short random strings).
const MAX_CHALLENGE: usize = 256;

#[derive(Debug)]
pub struct Dropbox;

impl Provider for Dropbox {
    fn name(&self) -> &'static str {
        "dropbox"
    }

    fn timed(&self) -> bool {
        false
    }

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&*SCHEME)
    }

    fn handshake(
        &self,
        method: &Method,
        d: &Delivery<'_>,
        _secrets: &[Secret],
    ) -> Option<Result<Answer, String>> {
        if method == Method::POST {
            return None;
        }
        Some(match d.query("challenge") {
            Some(c) if super::echoable(&c, MAX_CHALLENGE) => Ok(Answer::text(c)),
            Some(_) => Err(format!(
                "the challenge must be 1 to {MAX_CHALLENGE} printable characters"
            )),
            None => Err("a GET here is Dropbox's verification: ?challenge=… expected".into()),
        })
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let accounts: Vec<&str> = at(d.body, "list_folder/accounts")
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        if at(d.body, "list_folder").is_some() {
            n.event_type = "list_folder".into();
        }
        n.subject = accounts.first().map(|a| (*a).to_owned());
        n.summary = (!accounts.is_empty()).then(|| match accounts.len() {
            1 => format!("files changed in Dropbox account {}", accounts[0]),
            k => format!("files changed in {k} Dropbox accounts"),
        });
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::super::test_support::read;
    use super::*;
    use crate::signature::Rejection;

    #[test]
    fn the_challenge_is_echoed_and_nothing_else() {
        let get = |url: &str| {
            let h = HeaderMap::new();
            let d = Delivery {
                headers: &h,
                body: b"",
                now: 0,
                url,
            };
            Dropbox.handshake(&Method::GET, &d, &[])
        };
        let text = |t: &str| Some(Ok(Answer::text(t)));
        assert_eq!(get("http://h/webhook/d?challenge=Ab3-x_9"), text("Ab3-x_9"));
        assert_eq!(get("http://h/webhook/d?a=1&challenge=%41%42"), text("AB"));
        for bad in ["", "?", "?challenge=", "?challenge=a%0Ab"] {
            let got = get(&format!("http://h/webhook/d{bad}"));
            assert!(matches!(got, Some(Err(_))), "{bad:?}");
        }
        let long = format!("http://h/?challenge={}", "a".repeat(MAX_CHALLENGE + 1));
        assert!(matches!(get(&long), Some(Err(_))));
    }

    /// Dropbox's documented notification body; the signature is its documented scheme (a hex
    /// HMAC-SHA256 of the body with the app secret), computed here independently.
    #[test]
    fn a_notification_names_its_accounts_and_verifies() {
        let body = br#"{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngd"]}, "delta": {"users": [12345, 23456]}}"#;
        let n = read(
            "dropbox",
            &HeaderMap::new(),
            std::str::from_utf8(body).unwrap(),
        );
        assert_eq!(n.event_type, "list_folder");
        assert_eq!(
            n.subject.as_deref(),
            Some("dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc")
        );
        assert_eq!(
            n.summary.as_deref(),
            Some("files changed in 2 Dropbox accounts")
        );
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"app-secret").unwrap();
        mac.update(body);
        let sig = hex::encode(mac.finalize().into_bytes());
        let headers = crate::signature::test_support::headers(&[("x-dropbox-signature", &sig)]);
        let d = Delivery {
            headers: &headers,
            body,
            now: 0,
            url: "",
        };
        assert_eq!(Dropbox.verify(&[Secret::new("app-secret")], &d), Ok(()));
        assert_eq!(
            Dropbox.verify(&[Secret::new("other")], &d),
            Err(Rejection::BadSignature)
        );
    }
}
