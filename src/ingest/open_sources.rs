//! Sources that are not configured, accepted while signatures are not required: at most
//! `--max-open-sources` distinct names. Without a cap, POSTs to made-up names grew every list of
//! sources without bound (10,000 names made `events/list` 25 MB).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::IngestError;
use crate::sources::Sources;
use crate::store::Store;

pub struct OpenSources {
    store: Arc<dyn Store>,
    configured: Arc<Sources>,
    max: usize,
    /// The unconfigured names already accepted (seeded from the store at first use).
    known: Mutex<HashSet<String>>,
    seeded: OnceCell<()>,
}

impl OpenSources {
    pub fn new(store: Arc<dyn Store>, configured: Arc<Sources>, max: usize) -> Self {
        Self {
            store,
            configured,
            max,
            known: Mutex::default(),
            seeded: OnceCell::new(),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Accepts `name` (not configured) if it was seen before or there is room for one more.
    pub async fn admit(&self, name: &str) -> Result<(), IngestError> {
        self.seeded
            .get_or_try_init(|| async {
                let stored = self.store.sources().await?;
                let mut known = self.known();
                for s in stored {
                    if self.configured.get(&s.source).is_none() {
                        known.insert(s.source);
                    }
                }
                Ok::<_, IngestError>(())
            })
            .await?;
        let mut known = self.known();
        if known.contains(name) {
            return Ok(());
        }
        if known.len() >= self.max {
            return Err(IngestError::TooManyOpenSources {
                name: name.to_owned(),
                max: self.max,
            });
        }
        known.insert(name.to_owned());
        Ok(())
    }
}
