//! Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::sign::{ToSign, mac};
use super::{Delivery, HmacSha256, Rejection, Secret, body_signed_by_any};

const HEADER: &str = "x-shopify-hmac-sha256";

pub fn verify(secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
    let sig = B64
        .decode(d.header(HEADER)?)
        .map_err(|_| Rejection::Malformed(HEADER.to_owned()))?;
    body_signed_by_any::<HmacSha256>(secrets, d.body, &sig)
}

/// The header Shopify would send for `d`.
pub fn sign(secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
    let sig = mac::<HmacSha256>(secret.expose().as_bytes(), &[d.body]);
    vec![("X-Shopify-Hmac-Sha256".into(), B64.encode(sig))]
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{headers, secrets};
    use super::*;
    use hmac::Mac;

    #[test]
    fn base64_hmac_of_the_body() {
        let body = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
        let mut mac = HmacSha256::new_from_slice(b"shpss_secret").unwrap();
        mac.update(body);
        let sig = B64.encode(mac.finalize().into_bytes());
        let h = headers(&[(HEADER, &sig)]);
        let ok = Delivery {
            headers: &h,
            body,
            now: 0,
        };
        assert_eq!(verify(&secrets(&["shpss_secret"]), &ok), Ok(()));
        assert_eq!(
            verify(&secrets(&["other"]), &ok),
            Err(Rejection::BadSignature)
        );
        let tampered = Delivery {
            headers: &h,
            body: b"{}",
            now: 0,
        };
        assert_eq!(
            verify(&secrets(&["shpss_secret"]), &tampered),
            Err(Rejection::BadSignature)
        );
    }
}
