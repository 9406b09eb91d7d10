//! `--database-url`: a PostgreSQL URL, parsed once, that never prints its password.

use std::fmt;
use std::str::FromStr;

/// A PostgreSQL connection URL (`postgres://user:password@host:5432/db`, or a unix socket
/// directory: `postgres://user@/db?host=/run/postgresql`). `Display` and `Debug` show it
/// with the password replaced by `***`, so it can go in logs and errors.
#[derive(Clone)]
pub struct DatabaseUrl {
    text: String,
    config: tokio_postgres::Config,
}

impl DatabaseUrl {
    /// The parsed connection settings.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The URL with its password (in the user part or a `password=` parameter) replaced.
    pub fn redacted(&self) -> String {
        redact(&self.text)
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            return Err(format!("`{}` is not a postgres:// (or postgresql://) URL", redact(text)));
        }
        // tokio-postgres's parse errors name options, never their values.
        let config = tokio_postgres::Config::from_str(text).map_err(|e| format!("`{}` is not a valid PostgreSQL URL: {e}", redact(text)))?;
        Ok(Self { text: text.to_owned(), config })
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// `text` without its password. The user part ends at the first `@`, as tokio-postgres
/// reads it, so a password holding `/` or `?` is still hidden whole.
fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return "[not a URL]".to_owned();
    };
    let (authority, tail) = match rest.split_once('@') {
        Some((creds, after)) => {
            let user = creds.split_once(':').map_or(creds, |(user, _)| user);
            let hidden = if creds.contains(':') { format!("{user}:***@") } else { format!("{user}@") };
            (hidden, after)
        }
        None => (String::new(), rest),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        for (url, shown) in [
            ("postgres://app:s3cret@db.internal:5432/gm", "postgres://app:***@db.internal:5432/gm"),
            ("postgresql://app:pa/ss?w@rd@db/gm", "postgresql://app:***@rd@db/gm"),
            ("postgres://app@/gm?host=/run/postgresql&password=s3cret", "postgres://app@/gm?host=/run/postgresql&password=***"),
            ("postgres://postgres@/gm?host=/tmp/x", "postgres://postgres@/gm?host=/tmp/x"),
            ("postgres:///gm", "postgres:///gm"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
        let parsed: DatabaseUrl = "postgres://app:s3cret@db.internal/gm".parse().unwrap();
        assert!(!format!("{parsed} {parsed:?}").contains("s3cret"));
    }

    #[test]
    fn urls_are_checked_with_a_clear_error() {
        let socket: DatabaseUrl = "postgres://postgres@/gm?host=/tmp/dir".parse().unwrap();
        assert_eq!(socket.config().get_hosts(), [tokio_postgres::config::Host::Unix("/tmp/dir".into())]);
        assert_eq!(socket.config().get_dbname(), Some("gm"));
        let err = "mysql://u:s3cret@h/db".parse::<DatabaseUrl>().unwrap_err();
        assert!(err.contains("not a postgres://") && !err.contains("s3cret"), "{err}");
        let err = "postgres://u:s3cret@h:notaport/db".parse::<DatabaseUrl>().unwrap_err();
        assert!(err.contains("not a valid PostgreSQL URL") && !err.contains("s3cret"), "{err}");
    }
}
