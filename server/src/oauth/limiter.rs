//! Bounds sign-in attempts: after too many failures for one user name, or from one
//! address, further attempts are refused until the window ends, without checking the
//! password (so guessing costs the attacker time, and the server no argon2 work).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per user name within [`WINDOW`].
pub const PER_USER: u32 = 5;
/// Failures allowed per address within [`WINDOW`].
pub const PER_ADDRESS: u32 = 20;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Failure counts by key (`u:<name>`, `a:<address>`), in this process.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInLimiter {
    /// `Err(wait)` when `user` or `addr` has used up its attempts.
    pub fn check(&self, user: &str, addr: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        let over = |key: &str, limit: u32| map.get(key).filter(|(n, _)| *n >= limit).map(|(_, since)| WINDOW.saturating_sub(now.duration_since(*since)));
        if let Some(wait) = over(&user_key(user), PER_USER) {
            return Err(wait);
        }
        match addr.and_then(|a| over(&addr_key(a), PER_ADDRESS)) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, user: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut bump = |key: String| map.entry(key).or_insert((0, now)).0 += 1;
        bump(user_key(user));
        if let Some(a) = addr {
            bump(addr_key(a));
        }
    }

    /// Forgets a user's failures after a successful sign-in.
    pub fn succeeded(&self, user: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&user_key(user));
    }
}

fn user_key(user: &str) -> String {
    format!("u:{}", user.to_lowercase())
}

fn addr_key(addr: IpAddr) -> String {
    format!("a:{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_a_user_and_an_address() {
        let l = SignInLimiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..PER_USER {
            assert!(l.check("alice", Some(a)).is_ok());
            l.failed("alice", Some(a));
        }
        assert!(l.check("Alice", None).is_err(), "the name is locked, whatever its case");
        assert!(l.check("bob", Some(a)).is_ok(), "the address has attempts left");
        for i in 0..PER_ADDRESS {
            l.failed(&format!("user{i}"), Some(a));
        }
        assert!(l.check("carol", Some(a)).is_err(), "the address is locked for every name");
        assert!(l.check("carol", Some("192.0.2.2".parse().unwrap())).is_ok());
        l.succeeded("alice");
        assert!(l.check("alice", None).is_ok());
    }
}
