//! What the server tells operators about itself beyond its logs: metrics (names, labels,
//! the Prometheus recorder) and the W3C trace context a call continues upstream. Below
//! every other module (like `text`): the core, the upstream client and the managed side
//! all record here.

pub mod metrics;
pub mod trace_context;
