//! Signatures in one header of `key=value` pairs, hex HMAC-SHA256 of the body, optionally after
//! a timestamp from the same header: `t=…,v1=…` (Stripe, Calendly, Mux), `ts=…;h1=…` (Paddle),
//! `v1=…,v1=…` with no time (PagerDuty, CircleCI). Any of several signatures may match, which is
//! how these providers rotate secrets.

use super::sign::{ToSign, mac};
use super::{Delivery, HmacSha256, Rejection, Secret, check_timestamp, hmac_matches};

/// One such scheme.
#[derive(Debug)]
pub struct Pairs {
    /// The header, as the provider sends it (matched without case).
    pub header: &'static str,
    /// Between pairs: `,` or `;`.
    pub separator: char,
    /// The key of the Unix timestamp (`t`, `ts`), or `None` for an untimed scheme.
    pub time: Option<&'static str>,
    /// The key of a signature (`v1`, `h1`).
    pub signature: &'static str,
    /// Between the timestamp and the body in what is signed (`.` or `:`).
    pub joiner: &'static str,
    /// Seconds a timestamp may be from now.
    pub tolerance: u64,
}

impl Pairs {
    pub fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        let name = self.header.to_ascii_lowercase();
        let value = d.header(&name)?;
        let malformed = || Rejection::Malformed(name.clone());
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in value.split(self.separator) {
            match part.trim().split_once('=') {
                Some((k, t)) if Some(k) == self.time => timestamp = Some(t),
                Some((k, sig)) if k == self.signature => {
                    signatures.push(hex::decode(sig).map_err(|_| malformed())?)
                }
                _ => {}
            }
        }
        if signatures.is_empty() || (self.time.is_some() && timestamp.is_none()) {
            return Err(malformed());
        }
        let prefix: [&[u8]; 2] = match timestamp {
            Some(t) => [t.as_bytes(), self.joiner.as_bytes()],
            None => [b"", b""],
        };
        // The signature is checked before the time: a forged header learns nothing from the clock.
        let signed = secrets.iter().any(|s| {
            let key = s.expose().as_bytes();
            let parts = [prefix[0], prefix[1], d.body];
            signatures
                .iter()
                .any(|sig| hmac_matches::<HmacSha256>(key, &parts, sig))
        });
        if !signed {
            return Err(Rejection::BadSignature);
        }
        match timestamp {
            Some(t) => check_timestamp(t, &name, d.now, self.tolerance).map(|_| ()),
            None => Ok(()),
        }
    }

    /// The header the provider would send for `d`.
    pub fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        let key = secret.expose().as_bytes();
        let value = match self.time {
            Some(t) => {
                let ts = d.now.to_string();
                let sig = mac::<HmacSha256>(key, &[ts.as_bytes(), self.joiner.as_bytes(), d.body]);
                format!(
                    "{t}={ts}{}{}={}",
                    self.separator,
                    self.signature,
                    hex::encode(sig)
                )
            }
            None => format!(
                "{}={}",
                self.signature,
                hex::encode(mac::<HmacSha256>(key, &[d.body]))
            ),
        };
        vec![(self.header.to_owned(), value)]
    }
}
