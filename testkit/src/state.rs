//! The fake's shared state: configuration, recorded requests, queued faults, data.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::data::Store;
use crate::{FakeConfig, Fault, RecordedRequest};

/// Everything the handlers share.
pub struct Inner {
    pub config: FakeConfig,
    /// `http://127.0.0.1:PORT`, for absolute signed URLs.
    pub origin: String,
    pub requests: Mutex<Vec<RecordedRequest>>,
    pub faults: Mutex<VecDeque<Fault>>,
    pub store: Mutex<Store>,
}

impl Inner {
    pub fn new(config: FakeConfig, origin: String) -> Self {
        Self { config, origin, requests: Mutex::default(), faults: Mutex::default(), store: Mutex::new(Store::seed()) }
    }

    /// Takes the first queued fault that matches `path`.
    pub fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut q = self.faults.lock().unwrap();
        let i = q.iter().position(|f| f.path_contains.as_deref().is_none_or(|p| path.contains(p)))?;
        q.remove(i)
    }
}
