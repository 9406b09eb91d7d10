//! `gumloop_mcp_store_seconds{op, backend}`: how long each store operation takes, one
//! histogram for both backends so their latencies compare on one dashboard. Recorded
//! through the `metrics` facade: without an installed recorder it costs next to nothing.

use std::time::Instant;

/// The histogram's name.
pub const STORE_SECONDS: &str = "gumloop_mcp_store_seconds";

/// Times one operation from creation to drop, so a failed or cancelled one is recorded too.
#[must_use = "the operation is timed until this is dropped"]
pub struct Timed {
    backend: &'static str,
    op: &'static str,
    start: Instant,
}

/// Starts timing `op` (the `Store` method's name) on `backend` (`sqlite`, `postgres`).
pub fn timed(backend: &'static str, op: &'static str) -> Timed {
    Timed { backend, op, start: Instant::now() }
}

impl Drop for Timed {
    fn drop(&mut self) {
        metrics::histogram!(STORE_SECONDS, "op" => self.op, "backend" => self.backend).record(self.start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use metrics::{Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit};

    use super::*;

    /// One sample: the histogram's name, its labels and the value.
    type Sample = (String, Vec<(String, String)>, f64);

    /// Keeps every histogram sample with its key.
    #[derive(Default, Clone)]
    struct Samples(Arc<Mutex<Vec<Sample>>>);

    struct One(Samples, Key);

    impl HistogramFn for One {
        fn record(&self, value: f64) {
            let labels = self.1.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
            self.0.0.lock().unwrap().push((self.1.name().to_owned(), labels, value));
        }
    }

    impl Recorder for Samples {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::noop()
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(Arc::new(One(self.clone(), key.clone())))
        }
    }

    #[test]
    fn each_operation_is_one_sample_labelled_with_its_op_and_backend() {
        let samples = Samples::default();
        metrics::with_local_recorder(&samples, || {
            let t = timed("postgres", "resolve_token");
            std::thread::sleep(std::time::Duration::from_millis(5));
            drop(t);
        });
        let got = samples.0.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "{got:?}");
        let (name, labels, secs) = &got[0];
        assert_eq!(name, STORE_SECONDS);
        assert_eq!(labels, &[("op".to_owned(), "resolve_token".to_owned()), ("backend".to_owned(), "postgres".to_owned())]);
        assert!(*secs >= 0.005 && *secs < 5.0, "{secs}");
    }
}
