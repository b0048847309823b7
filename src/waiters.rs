//! How many requests may wait at once for events (long polls, `events/stream`, `wait_for_event`,
//! `next_events` with `wait_seconds`, `watch_deployment`, the dashboard's live list): in all
//! (`--max-waits`) and per credential (`--max-waits-per-credential`), so that one client cannot
//! hold every waiter. A wait beyond either is refused at once, saying which limit it met; a
//! waiter's place is given back the moment its request ends, the client's hang-up included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The places to wait, shared by every listener and session.
#[derive(Debug)]
pub struct Waiters {
    max: usize,
    per_credential: usize,
    /// Waits held, by credential.
    held: Mutex<HashMap<String, usize>>,
}

/// A wait refused: which limit it met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Every place is taken (`--max-waits`).
    All(usize),
    /// This credential holds its share (`--max-waits-per-credential`).
    Credential(usize),
}

impl Full {
    /// The setting that was reached, for errors.
    pub fn setting(self) -> &'static str {
        match self {
            Full::All(_) => "max-waits",
            Full::Credential(_) => "max-waits-per-credential",
        }
    }

    pub fn max(self) -> usize {
        match self {
            Full::All(n) | Full::Credential(n) => n,
        }
    }
}

impl std::fmt::Display for Full {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Full::All(n) => write!(
                f,
                "hookd holds {n} waiting requests, as many as it allows (--max-waits); \
                 try again shortly, or ask without waiting"
            ),
            Full::Credential(n) => write!(
                f,
                "this credential holds {n} waiting requests, its share \
                 (--max-waits-per-credential); end one first, or ask without waiting"
            ),
        }
    }
}

/// One wait's place, given back when dropped.
#[derive(Debug)]
pub struct Place {
    waiters: Arc<Waiters>,
    credential: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Ok(mut held) = self.waiters.held.lock()
            && let Some(n) = held.get_mut(&self.credential)
        {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.credential);
            }
        }
    }
}

impl Waiters {
    pub fn new(max: usize, per_credential: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            per_credential: per_credential.min(max),
            held: Mutex::default(),
        })
    }

    /// Takes a place for a wait by `credential` (`None`: a client without one; all such share
    /// one share).
    pub fn enter(self: &Arc<Self>, credential: Option<&str>) -> Result<Place, Full> {
        let credential = credential.unwrap_or_default();
        let Ok(mut held) = self.held.lock() else {
            return Err(Full::All(self.max));
        };
        if held.values().sum::<usize>() >= self.max {
            return Err(Full::All(self.max));
        }
        let mine = held.entry(credential.to_owned()).or_default();
        if *mine >= self.per_credential {
            return Err(Full::Credential(self.per_credential));
        }
        *mine += 1;
        Ok(Place {
            waiters: self.clone(),
            credential: credential.to_owned(),
        })
    }

    /// Waits held right now, in all.
    pub fn held(&self) -> usize {
        self.held.lock().map_or(0, |h| h.values().sum())
    }
}

#[cfg(test)]
mod tests {
    use super::{Full, Waiters};

    #[test]
    fn a_credential_gets_its_share_and_all_together_the_whole() {
        let w = Waiters::new(5, 3);
        let a: Vec<_> = (0..3).map(|_| w.enter(Some("a")).unwrap()).collect();
        assert_eq!(w.enter(Some("a")).unwrap_err(), Full::Credential(3));
        let b: Vec<_> = (0..2).map(|_| w.enter(Some("b")).unwrap()).collect();
        assert_eq!(w.enter(Some("c")).unwrap_err(), Full::All(5));
        assert_eq!(w.held(), 5);
        drop(a);
        assert_eq!(w.held(), 2, "places come back when dropped");
        assert!(w.enter(None).is_ok());
        drop(b);
        assert_eq!(w.held(), 0);
    }
}
