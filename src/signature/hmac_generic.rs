//! A configurable HMAC scheme for providers without a built-in one (and the built-in providers
//! that are one instance of it): which header, an optional prefix, the algorithm, the encoding,
//! what is signed, and an optional timestamp tolerance.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

use super::sign::{ToSign, mac};
use super::{
    Delivery, HmacSha1, HmacSha256, HmacSha512, Rejection, Secret, check_timestamp, hmac_matches,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Hex,
    Base64,
}

/// See the README's "Generic HMAC" section for the configuration keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmacScheme {
    /// The header carrying the signature.
    pub header: String,
    /// Text before the signature in that header, e.g. `sha256=`.
    #[serde(default)]
    pub prefix: String,
    #[serde(default = "sha256")]
    pub algorithm: Algorithm,
    #[serde(default = "hex")]
    pub encoding: Encoding,
    /// What is signed: `{body}`, `{timestamp}`, `{delivery_id}`, `{url}` (as the sender called
    /// it) and literal text, e.g. `v0:{timestamp}:{body}`. Default `{body}`.
    #[serde(default = "body")]
    pub signed: String,
    /// The header holding the Unix timestamp that `{timestamp}` stands for.
    pub timestamp_header: Option<String>,
    /// The header holding the delivery id that `{delivery_id}` stands for.
    pub delivery_id_header: Option<String>,
    /// Refuse timestamps further than this many seconds from now (needs `timestamp_header`).
    pub tolerance_seconds: Option<u64>,
}

fn sha256() -> Algorithm {
    Algorithm::Sha256
}
fn hex() -> Encoding {
    Encoding::Hex
}
fn body() -> String {
    "{body}".into()
}

impl HmacScheme {
    /// A built-in provider's scheme with no timestamp or delivery id headers.
    pub fn new(
        header: &str,
        prefix: &str,
        algorithm: Algorithm,
        encoding: Encoding,
        signed: &str,
    ) -> Self {
        Self {
            header: header.into(),
            prefix: prefix.into(),
            algorithm,
            encoding,
            signed: signed.into(),
            timestamp_header: None,
            delivery_id_header: None,
            tolerance_seconds: None,
        }
    }

    /// Checks the configuration once, at start-up.
    pub fn validate(&self) -> Result<(), String> {
        let header = &self.header;
        if self.signed.contains("{timestamp}") != self.timestamp_header.is_some() {
            return Err(format!(
                "hmac scheme on {header}: use {{timestamp}} in `signed` exactly when timestamp_header is set"
            ));
        }
        if self.signed.contains("{delivery_id}") && self.delivery_id_header.is_none() {
            return Err(format!(
                "hmac scheme on {header}: {{delivery_id}} needs delivery_id_header"
            ));
        }
        if self.tolerance_seconds.is_some() && self.timestamp_header.is_none() {
            return Err(format!(
                "hmac scheme on {header}: tolerance_seconds needs timestamp_header"
            ));
        }
        Ok(())
    }

    pub fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let value = d.header(&self.header.to_ascii_lowercase())?;
        let malformed = || Rejection::Malformed(self.header.clone());
        let encoded = value
            .strip_prefix(self.prefix.as_str())
            .ok_or_else(malformed)?;
        let sig = match self.encoding {
            Encoding::Hex => hex::decode(encoded).ok(),
            Encoding::Base64 => B64.decode(encoded).ok(),
        }
        .ok_or_else(malformed)?;
        let ts = self
            .timestamp_header
            .as_deref()
            .map(|h| d.header(&h.to_ascii_lowercase()))
            .transpose()?;
        let id = self
            .delivery_id_header
            .as_deref()
            .map(|h| d.header(&h.to_ascii_lowercase()))
            .transpose()?;
        let parts = self.parts(ts.unwrap_or(""), id.unwrap_or(""), d.body, d.url);
        let signed = secrets.iter().any(|s| {
            let key = s.expose().as_bytes();
            match self.algorithm {
                Algorithm::Sha1 => hmac_matches::<HmacSha1>(key, &parts, &sig),
                Algorithm::Sha256 => hmac_matches::<HmacSha256>(key, &parts, &sig),
                Algorithm::Sha512 => hmac_matches::<HmacSha512>(key, &parts, &sig),
            }
        });
        if !signed {
            return Err(Rejection::BadSignature);
        }
        match (ts, self.tolerance_seconds, &self.timestamp_header) {
            (Some(ts), Some(tolerance), Some(h)) => {
                check_timestamp(ts, h, d.now, tolerance).map(|_| ())
            }
            _ => Ok(()),
        }
    }

    /// The signed message as pieces: the template with its placeholders filled in.
    pub(super) fn parts<'a>(
        &'a self,
        ts: &'a str,
        id: &'a str,
        body: &'a [u8],
        url: &'a str,
    ) -> Vec<&'a [u8]> {
        let mut parts = Vec::new();
        let mut rest = self.signed.as_str();
        while let Some(start) = rest.find('{') {
            let (literal, tail) = rest.split_at(start);
            parts.push(literal.as_bytes());
            let (value, len): (&[u8], usize) = if tail.starts_with("{body}") {
                (body, 6)
            } else if tail.starts_with("{timestamp}") {
                (ts.as_bytes(), 11)
            } else if tail.starts_with("{delivery_id}") {
                (id.as_bytes(), 13)
            } else if tail.starts_with("{url}") {
                (url.as_bytes(), 5)
            } else {
                (b"{", 1)
            };
            parts.push(value);
            rest = &tail[len..];
        }
        parts.push(rest.as_bytes());
        parts
    }
}

impl HmacScheme {
    /// The headers this scheme's sender would send for `d`.
    pub fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let key = secret.expose().as_bytes();
        let ts = d.now.to_string();
        let mut headers = Vec::new();
        if let Some(t) = &self.timestamp_header {
            headers.push((t.clone(), ts.clone()));
        }
        if let Some(i) = &self.delivery_id_header {
            headers.push((i.clone(), d.delivery_id.to_owned()));
        }
        let parts = self.parts(&ts, d.delivery_id, d.body, d.url);
        let sig = match self.algorithm {
            Algorithm::Sha1 => mac::<HmacSha1>(key, &parts),
            Algorithm::Sha256 => mac::<HmacSha256>(key, &parts),
            Algorithm::Sha512 => mac::<HmacSha512>(key, &parts),
        };
        let encoded = match self.encoding {
            Encoding::Hex => hex::encode(sig),
            Encoding::Base64 => B64.encode(sig),
        };
        headers.push((self.header.clone(), format!("{}{encoded}", self.prefix)));
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{headers, secrets};
    use super::*;

    fn scheme(toml: &str) -> HmacScheme {
        let s: HmacScheme = toml::from_str(toml).unwrap();
        s.validate().unwrap();
        s
    }

    #[test]
    fn a_generic_scheme_reproduces_slacks_documented_vector() {
        let s = scheme(
            r#"header = "X-Slack-Signature"
               prefix = "v0="
               signed = "v0:{timestamp}:{body}"
               timestamp_header = "X-Slack-Request-Timestamp"
               tolerance_seconds = 300"#,
        );
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let h = headers(&[
            (
                "x-slack-signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ),
            ("x-slack-request-timestamp", "1531420618"),
        ]);
        let secret = secrets(&["8f742231b10e8888abcd99yyyzzz85a5"]);
        let at = |now| Delivery {
            headers: &h,
            body: body.as_bytes(),
            now,
            url: "",
        };
        assert_eq!(s.verify(&secret, &at(1_531_420_618)), Ok(()));
        assert_eq!(
            s.verify(&secret, &at(1_531_420_618 + 301)),
            Err(Rejection::StaleTimestamp(300))
        );
    }

    #[test]
    fn a_generic_scheme_reproduces_githubs_and_vercels_vectors() {
        let gh = scheme(
            r#"header = "X-Hub-Signature-256"
                           prefix = "sha256=""#,
        );
        let h = headers(&[(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )]);
        let d = Delivery {
            headers: &h,
            body: b"Hello, World!",
            now: 0,
            url: "",
        };
        assert_eq!(
            gh.verify(&secrets(&["It's a Secret to Everybody"]), &d),
            Ok(())
        );
        assert_eq!(
            gh.verify(&secrets(&["nope"]), &d),
            Err(Rejection::BadSignature)
        );

        let vercel = scheme(
            r#"header = "x-vercel-signature"
                               algorithm = "sha1""#,
        );
        let body = include_bytes!("../../tests/fixtures/vercel/sentry.deployment.old-format.body");
        let h = headers(&[(
            "x-vercel-signature",
            "74b587857986545361e8a4253b74cd6224d34869",
        )]);
        let d = Delivery {
            headers: &h,
            body,
            now: 0,
            url: "",
        };
        assert_eq!(
            vercel.verify(&secrets(&["AiK52QASLJXmCXX3X9gO2Zyh"]), &d),
            Ok(())
        );
    }

    #[test]
    fn inconsistent_configurations_are_refused() {
        let bad: HmacScheme = toml::from_str(
            r#"header = "x-sig"
                                                signed = "{timestamp}.{body}""#,
        )
        .unwrap();
        assert!(bad.validate().unwrap_err().contains("timestamp_header"));
        assert!(
            toml::from_str::<HmacScheme>(
                r#"header = "x"
                                                 algorithm = "md5""#
            )
            .is_err()
        );
    }
}
