//! Signing, the mirror of verification: what `hookd send` (and delivery to MCP subscribers) uses
//! to sign a body exactly as a provider would. Each scheme's file has its own `sign`.

use hmac::Mac;

/// One delivery to sign.
pub struct ToSign<'a> {
    pub body: &'a [u8],
    /// Unix seconds.
    pub now: i64,
    pub delivery_id: &'a str,
    /// Where it is sent (for schemes that sign the URL).
    pub url: &'a str,
}

/// `HMAC-<alg>(key, parts…)`.
pub fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}
