//! A configurable HMAC (`provider = "hmac"` with a `[sources.NAME.hmac]` table) for senders
//! without a built-in provider: the generic type and delivery id, nothing provider-specific.

use std::sync::Arc;

use super::{Incoming, Normalized, Options, Provider};
use crate::secret::Secret;
use crate::signature::{Delivery, HmacScheme, Rejection, ToSign};

#[derive(Debug)]
pub struct Hmac(HmacScheme);

pub fn build(options: Options<'_>) -> Result<Arc<dyn Provider>, String> {
    let source = options.source;
    let Some(scheme) = options.hmac else {
        return Err(format!(
            "provider \"hmac\" needs an [sources.{source}.hmac] table"
        ));
    };
    scheme.validate()?;
    Ok(Arc::new(Hmac(scheme)))
}

impl Provider for Hmac {
    fn name(&self) -> &'static str {
        "hmac"
    }

    /// Timed when the table names a timestamp header.
    fn timed(&self) -> bool {
        self.0.timestamp_header.is_some()
    }

    fn verify(&self, secrets: &[Secret], d: &Delivery<'_>) -> Result<(), Rejection> {
        self.0.verify(secrets, d)
    }

    fn sign(&self, secret: &Secret, d: &ToSign<'_>) -> Vec<(String, String)> {
        self.0.sign(secret, d)
    }

    fn read(&self, _d: &Incoming<'_>, _n: &mut Normalized) {}
}
