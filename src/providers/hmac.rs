//! A configurable HMAC (`provider = "hmac"` with a `[sources.NAME.hmac]` table) for senders
//! without a built-in provider: the generic type and delivery id, nothing provider-specific.

use std::sync::Arc;

use super::{Incoming, Normalized, Options, Provider};
use crate::signature::{HmacScheme, Scheme};

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

    fn scheme(&self) -> Option<&dyn Scheme> {
        Some(&self.0)
    }

    fn read(&self, _d: &Incoming<'_>, _n: &mut Normalized) {}
}
