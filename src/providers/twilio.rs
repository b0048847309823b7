//! Twilio: signed with `X-Twilio-Signature`, the base64 HMAC of the URL Twilio called followed,
//! for a form body, by each parameter's name and value sorted by name; for a JSON body the URL
//! carries `bodySHA256` (the body's hex SHA-256), which is checked too. HMAC-SHA1 with the Auth
//! Token, or HMAC-SHA256 with a SharedKey secret when `X-Twilio-Webhooks-Signature-Settings`
//! says `algorithm=HMAC_SHA256`. As Twilio's own validator does, the URL is tried with and
//! without its default port. Untimed. Type = `message.<status>` or `call.<status>`, delivery id =
//! `I-Twilio-Idempotency-Token`, subject = who it is from, summary = the message.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::{Incoming, Normalized, Provider, header};
use crate::event::PayloadEncoding;
use crate::payload::{str_at, text};
use crate::secret::Secret;
use crate::signature::{
    Delivery, HmacSha1, HmacSha256, Rejection, ToSign, hmac_matches, mac, query_param,
};

const HEADER: &str = "x-twilio-signature";
const SETTINGS: &str = "x-twilio-webhooks-signature-settings";

#[derive(Debug)]
pub struct Twilio;

/// What is signed: the URL, then for a form body its parameters (names sorted, each name's
/// distinct values sorted), concatenated.
fn signed_text(url: &str, body: &[u8]) -> String {
    let mut s = url.to_owned();
    if query_param(url, "bodySHA256").is_some() {
        return s;
    }
    let mut params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    params.sort();
    params.dedup();
    for (k, v) in params {
        s.push_str(&k);
        s.push_str(&v);
    }
    s
}

/// `url` without its port, and with its scheme's default port added.
fn port_variants(url: &str) -> [String; 2] {
    let Some((scheme, rest)) = url.split_once("://") else {
        return [url.to_owned(), url.to_owned()];
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let with = match authority.len() == host.len() {
        true => format!("{scheme}://{host}:{default}{path}"),
        false => url.to_owned(),
    };
    [format!("{scheme}://{host}{path}"), with]
}

fn sha256_wanted(d: &Delivery<'_>) -> bool {
    d.headers
        .get(SETTINGS)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| {
            s.split(',').any(|part| {
                part.split_once('=')
                    .is_some_and(|(k, v)| k.trim() == "algorithm" && v.trim() == "HMAC_SHA256")
            })
        })
}

impl Provider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn timed(&self) -> bool {
        false
    }

    fn signs_url(&self) -> bool {
        true
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let sig = B64
            .decode(d.header(HEADER)?)
            .map_err(|_| Rejection::Malformed(HEADER.into()))?;
        if let Some(wanted) = query_param(d.url, "bodySHA256") {
            let actual = hex::encode(sha2::Sha256::digest(d.body));
            if !bool::from(
                actual
                    .as_bytes()
                    .ct_eq(wanted.to_ascii_lowercase().as_bytes()),
            ) {
                return Err(Rejection::BadSignature);
            }
        }
        let sha256 = sha256_wanted(d);
        let signed = port_variants(d.url).iter().any(|url| {
            let text = signed_text(url, d.body);
            secrets.iter().any(|s| {
                let key = s.expose().as_bytes();
                match sha256 {
                    true => hmac_matches::<HmacSha256>(key, &[text.as_bytes()], &sig),
                    false => hmac_matches::<HmacSha1>(key, &[text.as_bytes()], &sig),
                }
            })
        });
        signed.then_some(()).ok_or(Rejection::BadSignature)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let text = signed_text(d.url, d.body);
        let sig = mac::<HmacSha1>(secret.expose().as_bytes(), &[text.as_bytes()]);
        vec![("X-Twilio-Signature".into(), B64.encode(sig))]
    }

    /// A JSON body's hash goes in the URL, as `bodySHA256`.
    fn send_url(&self, url: &str, body: &[u8]) -> Option<String> {
        let json = body.first().is_some_and(|b| matches!(b, b'{' | b'['));
        json.then(|| {
            let hash = hex::encode(sha2::Sha256::digest(body));
            let glue = if url.contains('?') { '&' } else { '?' };
            format!("{url}{glue}bodySHA256={hash}")
        })
    }

    fn identify(&self, event_type: Option<&str>, delivery_id: &str) -> Vec<(String, String)> {
        let mut headers = super::generic::identify(event_type, None);
        headers.push(("I-Twilio-Idempotency-Token".into(), delivery_id.into()));
        headers
    }

    fn read(&self, d: &Incoming<'_>, n: &mut Normalized) {
        let v = d.body;
        n.delivery_id = header(d.headers, "i-twilio-idempotency-token").or(n.delivery_id.take());
        if d.encoding != PayloadEncoding::Form {
            return;
        }
        let status = |k: &str| str_at(v, k).map(str::to_ascii_lowercase);
        if str_at(v, "MessageSid").is_some() {
            let s = status("MessageStatus").or_else(|| status("SmsStatus"));
            n.event_type = format!("message.{}", s.as_deref().unwrap_or("received"));
            let body = str_at(v, "Body")
                .map(|b| format!(": {b}"))
                .unwrap_or_default();
            n.summary = Some(format!(
                "message from {} to {}{body}",
                str_at(v, "From").unwrap_or("?"),
                str_at(v, "To").unwrap_or("?")
            ));
        } else if str_at(v, "CallSid").is_some() {
            let s = status("CallStatus");
            n.event_type = format!("call.{}", s.as_deref().unwrap_or("unknown"));
            n.summary = Some(format!(
                "call from {} to {}",
                str_at(v, "From").unwrap_or("?"),
                str_at(v, "To").unwrap_or("?")
            ));
        }
        n.subject = text(v, "From");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twilio's documented example ("Validating Signatures from Twilio"): the Auth Token
    /// 12345, the URL and the parameters give 0/KCTR6DLpKmkAf8muzZqo1nDgQ=.
    #[test]
    fn the_documented_example_verifies() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let body = b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
        let verify = |s: &[Secret], d: &Delivery<'_>| Twilio.verify(s, d);
        let h =
            crate::signature::test_support::headers(&[(HEADER, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")]);
        let d = Delivery {
            headers: &h,
            body,
            now: 0,
            url,
        };
        assert_eq!(verify(&[Secret::new("12345")], &d), Ok(()));
        let moved = Delivery {
            url: "https://mycompany.com/other.php?foo=1&bar=2",
            ..d
        };
        assert_eq!(
            verify(&[Secret::new("12345")], &moved),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn the_default_port_is_tried_both_ways() {
        assert_eq!(
            port_variants("https://h.example/x?a=1"),
            [
                "https://h.example/x?a=1".to_owned(),
                "https://h.example:443/x?a=1".to_owned()
            ]
        );
        assert_eq!(
            port_variants("http://h:8080/x"),
            ["http://h/x".to_owned(), "http://h:8080/x".to_owned()]
        );
    }

    #[test]
    fn a_message_is_named_by_its_status() {
        let body =
            b"MessageSid=SM1&SmsStatus=received&From=%2B15551230000&To=%2B15559870000&Body=Hello";
        let form = "application/x-www-form-urlencoded";
        let decoded = crate::ingest::body::decode(Some(form), body).unwrap();
        let n = super::super::test_support::read_tree(
            &Twilio,
            &axum::http::HeaderMap::new(),
            decoded.encoding,
            &decoded.tree,
        );
        assert_eq!(n.event_type, "message.received");
        assert_eq!(n.subject.as_deref(), Some("+15551230000"));
        assert_eq!(
            n.summary.as_deref(),
            Some("message from +15551230000 to +15559870000: Hello")
        );
    }
}
