//! Signing, the mirror of verification: what `hookd send` uses to sign a file exactly as the
//! provider would, so a user can test a setup end to end without the provider.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::Mac;

use super::hmac_generic::{Algorithm, Encoding};
use super::standard::LENIENT;
use super::{HmacSha1, HmacSha256, HmacSha512, Scheme, Secret};

/// One delivery to sign.
pub struct ToSign<'a> {
    pub body: &'a [u8],
    /// Unix seconds.
    pub now: i64,
    pub delivery_id: &'a str,
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

impl Scheme {
    /// The headers the provider would send for `d`, signed with `secret`.
    pub fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let key = secret.expose().as_bytes();
        let ts = d.now.to_string();
        let h = |k: &str, v: String| (k.to_owned(), v);
        match self {
            Self::GitHub => vec![h(
                "X-Hub-Signature-256",
                format!("sha256={}", hex::encode(mac::<HmacSha256>(key, &[d.body]))),
            )],
            Self::Stripe => {
                let sig = mac::<HmacSha256>(key, &[ts.as_bytes(), b".", d.body]);
                vec![h(
                    "Stripe-Signature",
                    format!("t={ts},v1={}", hex::encode(sig)),
                )]
            }
            Self::Slack => {
                let sig = mac::<HmacSha256>(key, &[b"v0:", ts.as_bytes(), b":", d.body]);
                vec![
                    h("X-Slack-Request-Timestamp", ts.clone()),
                    h("X-Slack-Signature", format!("v0={}", hex::encode(sig))),
                ]
            }
            Self::Vercel => vec![h(
                "x-vercel-signature",
                hex::encode(mac::<HmacSha1>(key, &[d.body])),
            )],
            Self::StandardWebhooks => {
                let raw = secret.expose();
                let key = LENIENT
                    .decode(raw.strip_prefix("whsec_").unwrap_or(raw))
                    .unwrap_or_default();
                let id = d.delivery_id.as_bytes();
                let sig = mac::<HmacSha256>(&key, &[id, b".", ts.as_bytes(), b".", d.body]);
                vec![
                    h("webhook-id", d.delivery_id.to_owned()),
                    h("webhook-timestamp", ts.clone()),
                    h("webhook-signature", format!("v1,{}", B64.encode(sig))),
                ]
            }
            Self::Shopify => vec![h(
                "X-Shopify-Hmac-Sha256",
                B64.encode(mac::<HmacSha256>(key, &[d.body])),
            )],
            Self::Linear => vec![
                h(
                    "Linear-Signature",
                    hex::encode(mac::<HmacSha256>(key, &[d.body])),
                ),
                h("Linear-Delivery", d.delivery_id.to_owned()),
            ],
            Self::GitLab => vec![h("X-Gitlab-Token", secret.expose().to_owned())],
            Self::Hmac(s) => {
                let mut headers = Vec::new();
                if let Some(t) = &s.timestamp_header {
                    headers.push(h(t, ts.clone()));
                }
                if let Some(i) = &s.delivery_id_header {
                    headers.push(h(i, d.delivery_id.to_owned()));
                }
                let parts = s.parts(&ts, d.delivery_id, d.body);
                let sig = match s.algorithm {
                    Algorithm::Sha1 => mac::<HmacSha1>(key, &parts),
                    Algorithm::Sha256 => mac::<HmacSha256>(key, &parts),
                    Algorithm::Sha512 => mac::<HmacSha512>(key, &parts),
                };
                let encoded = match s.encoding {
                    Encoding::Hex => hex::encode(sig),
                    Encoding::Base64 => B64.encode(sig),
                };
                headers.push(h(&s.header, format!("{}{encoded}", s.prefix)));
                headers
            }
            Self::None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Delivery, Rejection, test_support::headers};
    use super::*;

    /// Every scheme verifies what it signs (the published vectors pin down each side alone).
    #[test]
    fn every_scheme_verifies_its_own_signature() {
        let generic: super::super::HmacScheme = toml::from_str(
            "header = \"X-Sig\"\nprefix = \"t=\"\nalgorithm = \"sha512\"\nencoding = \"base64\"\nsigned = \"{timestamp}.{delivery_id}.{body}\"\ntimestamp_header = \"X-Ts\"\ndelivery_id_header = \"X-Id\"\ntolerance_seconds = 60",
        )
        .unwrap();
        let schemes = [
            Scheme::GitHub,
            Scheme::Stripe,
            Scheme::Slack,
            Scheme::Vercel,
            Scheme::StandardWebhooks,
            Scheme::Shopify,
            Scheme::Linear,
            Scheme::GitLab,
            Scheme::Hmac(generic),
        ];
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let d = ToSign {
            body: br#"{"a":1}"#,
            now: 1_800_000_000,
            delivery_id: "msg_1",
        };
        for scheme in schemes {
            let pairs = scheme.sign(&secret, &d);
            let refs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let h = headers(&refs);
            let delivery = Delivery {
                headers: &h,
                body: d.body,
                now: d.now,
            };
            assert_eq!(
                scheme.verify(std::slice::from_ref(&secret), &delivery),
                Ok(()),
                "{scheme:?}"
            );
            // Rotation: any configured secret may have signed it; no other secret verifies it.
            let other = Secret::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            let rotated = [other.clone(), secret.clone()];
            assert_eq!(scheme.verify(&rotated, &delivery), Ok(()), "{scheme:?}");
            let wrong = scheme.verify(&[other], &delivery);
            assert_eq!(wrong, Err(Rejection::BadSignature), "{scheme:?}");
            // Timestamped schemes: too old and too new are both refused.
            let timed = !matches!(
                scheme,
                Scheme::GitHub | Scheme::Vercel | Scheme::Shopify | Scheme::Linear | Scheme::GitLab
            );
            for (shift, expected) in [(100_000, "stale_timestamp"), (-100_000, "stale_timestamp")] {
                let at = Delivery {
                    headers: &h,
                    body: d.body,
                    now: d.now + shift,
                };
                let got = scheme.verify(std::slice::from_ref(&secret), &at);
                assert_eq!(
                    got.err().map(|r| r.class()),
                    timed.then_some(expected),
                    "{scheme:?}"
                );
            }
            // No signature headers at all.
            let bare = headers(&[]);
            let missing = Delivery {
                headers: &bare,
                body: d.body,
                now: d.now,
            };
            let got = scheme.verify(std::slice::from_ref(&secret), &missing);
            assert_eq!(
                got.map_err(|r| r.class()),
                Err("missing_header"),
                "{scheme:?}"
            );
            if scheme != Scheme::GitLab {
                // GitLab's token does not cover the body; every other scheme does.
                let tampered = Delivery {
                    headers: &h,
                    body: b"{}",
                    now: d.now,
                };
                assert!(
                    scheme
                        .verify(std::slice::from_ref(&secret), &tampered)
                        .is_err(),
                    "{scheme:?}"
                );
            }
        }
    }
}
