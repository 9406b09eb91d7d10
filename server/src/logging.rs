//! Logging to stderr, one line per event whatever the event carries.
//!
//! Log fields can hold text a client chose (rmcp logs a JSON-RPC `id` with `Display`, a
//! tool name, an upstream message). A newline in such text would start a line that looks
//! like a log event of its own, so every event is written through [`SingleLine`], which
//! escapes line breaks and other control characters inside it.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber: stderr (stdout belongs to JSON-RPC in stdio mode), no
/// colours, filtered by `GUMLOOP_MCP_LOG` (default `info,rmcp=warn`).
pub fn init() {
    tracing_subscriber::fmt()
        .with_writer(SingleLine(io::stderr))
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("GUMLOOP_MCP_LOG").unwrap_or_else(|_| "info,rmcp=warn".into()))
        .init();
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
}
