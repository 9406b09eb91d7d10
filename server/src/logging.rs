//! Logging to stderr, one line per event whatever the event carries.
//!
//! Log fields can hold text a client chose (rmcp logs a JSON-RPC `id` with `Display`, a
//! tool name, an upstream message). A newline in such text would start a line that looks
//! like a log event of its own, so every event is written through [`SingleLine`], which
//! escapes line breaks and other control characters inside it.

use std::io::{self, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How events are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable, one line per event through [`SingleLine`].
    #[default]
    Text,
    /// One JSON object per line: the event's fields at the top level, its span's (a call's
    /// `tool` and `trace_id`) under `span`. JSON escapes every control character in a
    /// string, so an event cannot break its line either.
    Json,
}

/// Installs the global subscriber: stderr (stdout belongs to JSON-RPC in stdio mode), no
/// colours, filtered by `GUMLOOP_MCP_LOG` (default `info,rmcp=warn`).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GUMLOOP_MCP_LOG").unwrap_or_else(|_| "info,rmcp=warn".into());
    subscriber(format, filter, io::stderr).init();
}

/// The subscriber [`init`] installs, writing to `writer`.
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // No internal-error reports: when writing an event fails (stderr is a pipe nobody reads
    // any more, as when the parent died), tracing-subscriber would `eprintln!` about it, and
    // that panics on the same broken stderr, killing whatever task logged, the SIGTERM
    // handler included, so the server could no longer be stopped. A lost log line is all
    // a closed stderr can cost.
    let fmt = tracing_subscriber::fmt().with_ansi(false).with_env_filter(filter).log_internal_errors(false);
    match format {
        LogFormat::Text => Box::new(fmt.with_writer(SingleLine(writer)).finish()),
        // Not through `SingleLine`: its escapes (`\u{1b}`) are no JSON escapes.
        LogFormat::Json => Box::new(fmt.json().flatten_event(true).with_span_list(false).with_writer(writer).finish()),
    }
}

/// A writer maker whose writers keep each event on one line.
///
/// tracing-subscriber formats a whole event, its final newline included, and writes it
/// with one `write_all`; everything before that final newline is the event's own text.
#[derive(Debug, Clone, Copy)]
pub struct SingleLine<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for SingleLine<M> {
    type Writer = Escaping<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Escaping(self.0.make_writer())
    }
}

/// See [`SingleLine`].
#[derive(Debug)]
pub struct Escaping<W>(W);

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (body, end) = match buf.strip_suffix(b"\n") {
            Some(body) => (body, &b"\n"[..]),
            None => (buf, &b""[..]),
        };
        let escaped = escape(body);
        self.0.write_all(&escaped)?;
        self.0.write_all(end)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `text` with line breaks and control characters as visible escapes (`\n`, `\r`,
/// `\u{1b}`, and the Unicode line and paragraph separators), tabs kept.
pub fn escape(text: &[u8]) -> Vec<u8> {
    let needs = |c: char| (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}');
    let s = String::from_utf8_lossy(text);
    if !s.chars().any(needs) {
        return text.to_vec();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_on_one_line() {
        let mut out = Vec::new();
        Escaping(&mut out).write_all(b"WARN response error id=x\n2026-12-01T09:00:00Z  INFO gumloop_mcp: FORGED\r\x1b[2J\n").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "WARN response error id=x\\n2026-12-01T09:00:00Z  INFO gumloop_mcp: FORGED\\r\\u{1b}[2J\n");
        assert_eq!(text.lines().count(), 1);
        assert_eq!(escape("a\u{2028}b\tc".as_bytes()), b"a\\u{2028}b\tc");
        assert_eq!(escape(b"plain"), b"plain");
    }

    /// Everything written, for a subscriber under test.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn log_one(format: LogFormat) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let sub = subscriber(format, EnvFilter::new("info"), move || writer.clone());
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("call", tool = "list_all_gumloop_models", trace_id = "0af7651916cd43dd8448eb211c80319c");
            let _in = span.enter();
            tracing::info!(status = 200, "done\n2026-12-01T09:00:00Z  INFO gumloop_mcp: FORGED");
        });
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn json_logs_are_one_object_per_line_with_the_calls_fields() {
        let text = log_one(LogFormat::Json);
        assert_eq!(text.lines().count(), 1, "{text}");
        let event: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(event["level"], "INFO", "{event}");
        assert_eq!(event["message"], "done\n2026-12-01T09:00:00Z  INFO gumloop_mcp: FORGED", "{event}");
        assert_eq!(event["status"], 200, "{event}");
        assert_eq!(event["span"]["tool"], "list_all_gumloop_models", "{event}");
        assert_eq!(event["span"]["trace_id"], "0af7651916cd43dd8448eb211c80319c", "{event}");
        assert!(event["timestamp"].is_string() && event["target"].is_string(), "{event}");
    }

    #[test]
    fn text_logs_keep_the_escaping_and_the_span() {
        let text = log_one(LogFormat::Text);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(r#"call{tool="list_all_gumloop_models" trace_id="0af7651916cd43dd8448eb211c80319c"}"#), "{text}");
        assert!(text.contains("done\\n2026"), "{text}");
    }
}
