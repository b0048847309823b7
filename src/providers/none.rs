//! `provider = "none"`: deliberately unsigned deliveries, read generically.

use super::{Incoming, Normalized, Provider};
use crate::secret::Secret;
use crate::signature::{Delivery, Rejection, ToSign};

#[derive(Debug)]
pub struct Unsigned;

impl Provider for Unsigned {
    fn name(&self) -> &'static str {
        "none"
    }

    fn signs(&self) -> bool {
        false
    }

    fn verify(&self, _secrets: &[Secret], _d: &Delivery<'_>) -> Result<(), Rejection> {
        Ok(())
    }

    fn sign(&self, _secret: &Secret, _d: &ToSign<'_>) -> Vec<(String, String)> {
        Vec::new()
    }

    fn read(&self, _d: &Incoming<'_>, _n: &mut Normalized) {}
}
