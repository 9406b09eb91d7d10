//! Secrets at rest: random tokens stored only as SHA-256 hashes and compared in
//! constant time, and the AEAD that encrypts connected accounts' Gumloop keys.
//!
//! Tokens carry 256 random bits, so a fast hash is the right tool (a slow password hash
//! protects low-entropy secrets; these cannot be guessed). Their prefixes (`gmcp_`,
//! `gmat_`) let secret scanners recognise a leaked one.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system's random source failed");
    out
}

/// A fresh id such as `acct_3f9c1e7a0b2d4c68` (64 random bits: ids are not secrets,
/// only unique).
pub fn new_id(prefix: &str) -> String {
    let bytes: [u8; 8] = random_bytes();
    format!("{prefix}_{}", hex(&bytes))
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A bearer token as issued: shown once, never stored.
pub struct Token(String);

impl Token {
    /// A new token of 256 random bits, `<prefix>_<base64url>`.
    pub fn generate(prefix: &str) -> Self {
        let bytes: [u8; 32] = random_bytes();
        Self(format!("{prefix}_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The token text, for the one response that shows it.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// The SHA-256 of a token: the only form in which tokens are stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes presented token text.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Constant-time equality, so a comparison never reveals how much of a hash matched.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// Where the at-rest encryption key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// `GUMLOOP_MCP_SECRET_KEY`.
    Environment,
    /// An existing key file.
    File,
    /// A key file created just now.
    Created,
}

/// Errors loading the at-rest key or opening a sealed value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key in the environment or file is malformed.
    #[error("{0}")]
    BadKey(String),
    /// Reading or creating the key file failed.
    #[error("key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// With a shared database every replica needs the same key, so it must be given.
    #[error(
        "GUMLOOP_MCP_SECRET_KEY is not set: with --database-url every replica and every management command must share one key, \
         because the sealed Gumloop keys live in the shared database (no per-data-dir secret.key is used). \
         Set GUMLOOP_MCP_SECRET_KEY to the same 32-byte key everywhere (64 hex digits; make one with `openssl rand -hex 32`)"
    )]
    Required,
    /// A sealed value does not open with this key (another key, or tampering).
    #[error("a stored secret does not decrypt with this key (was GUMLOOP_MCP_SECRET_KEY or the key file changed?)")]
    Open,
}

/// The AEAD key that seals Gumloop API keys at rest (XChaCha20-Poly1305: 192-bit random
/// nonces, so nonces never need a counter).
#[derive(Clone)]
pub struct SealingKey(chacha20poly1305::Key);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

/// The label of the key check the store keeps (see [`SealingKey::check_value`]).
pub const KEY_CHECK_LABEL: &str = "gumloop-mcp/key-check/v1";

/// The label of the download-link key (see [`SealingKey::link_key`]).
pub const LINK_KEY_LABEL: &str = "gumloop-mcp/link-key/v1";

/// The name of the key file inside the data directory.
pub const KEY_FILE: &str = "secret.key";

impl SealingKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes.into())
    }

    /// Parses 32 bytes written as 64 hex digits or base64 (standard or URL-safe).
    pub fn parse(text: &str, source: &str) -> Result<Self, SecretError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32).map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).expect("checked hex")).collect()
        } else {
            let engines =
                [&base64::engine::general_purpose::STANDARD, &base64::engine::general_purpose::URL_SAFE_NO_PAD, &base64::engine::general_purpose::URL_SAFE];
            engines.iter().find_map(|e| e.decode(t).ok()).unwrap_or_default()
        };
        let bytes: [u8; 32] =
            bytes.try_into().map_err(|_| SecretError::BadKey(format!("{source} must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)")))?;
        Ok(Self::from_bytes(bytes))
    }

    /// `GUMLOOP_MCP_SECRET_KEY` if set, else `<data_dir>/secret.key`, created (mode 0600)
    /// with a random key on first start.
    pub fn load(data_dir: &Path, env: Option<&str>) -> Result<(Self, KeySource), SecretError> {
        if let Some(text) = env.filter(|t| !t.trim().is_empty()) {
            return Ok((Self::parse(text, "GUMLOOP_MCP_SECRET_KEY")?, KeySource::Environment));
        }
        let path = data_dir.join(KEY_FILE);
        let io = |source| SecretError::Io { path: path.display().to_string(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok((Self::parse(&text, &path.display().to_string())?, KeySource::File)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let bytes: [u8; 32] = random_bytes();
        write_private(&path, format!("{}\n", hex(&bytes)).as_bytes()).map_err(io)?;
        Ok((Self::from_bytes(bytes), KeySource::Created))
    }

    /// `GUMLOOP_MCP_SECRET_KEY`, which must be set (a shared database: every replica must
    /// seal and open with the same key, so none may invent its own).
    pub fn require_env(env: Option<&str>) -> Result<Self, SecretError> {
        let text = env.filter(|t| !t.trim().is_empty()).ok_or(SecretError::Required)?;
        Self::parse(text, "GUMLOOP_MCP_SECRET_KEY")
    }

    /// A 32-byte key for one purpose, `HMAC-SHA256(secret, label)`: the key check and the
    /// download-link key come from the one secret every replica already shares, and no
    /// derived key tells anything about the secret or another label's key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::Mac as _;
        let mut mac = <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(self.0.as_slice()).expect("any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// What the store keeps to recognise this key: a wrong key is then refused at
    /// start-up rather than found out later, account by account.
    pub fn check_value(&self) -> [u8; 32] {
        self.derive(KEY_CHECK_LABEL)
    }

    /// The key download links are sealed with: every replica sharing this secret reads
    /// the others' links, and links survive a restart.
    pub fn link_key(&self) -> crate::behaviours::downloads::LinkKey {
        crate::behaviours::downloads::LinkKey::from_key(self.derive(LINK_KEY_LABEL))
    }

    /// Whether `stored` is this key's [`check_value`](Self::check_value) (constant time).
    pub fn matches_check(&self, stored: &[u8]) -> bool {
        stored.ct_eq(&self.check_value()).into()
    }

    /// Seals `plaintext`, bound to `context` (the record's id), as `nonce ‖ ciphertext`.
    /// Binding the id means a sealed key copied onto another record does not open.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let nonce: [u8; 24] = random_bytes();
        let cipher = XChaCha20Poly1305::new(&self.0);
        let ct = cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() }).expect("encryption cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    /// Opens what [`seal`](Self::seal) produced for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < 24 {
            return Err(SecretError::Open);
        }
        let (nonce, ct) = sealed.split_at(24);
        XChaCha20Poly1305::new(&self.0).decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: context.as_bytes() }).map_err(|_| SecretError::Open)
    }
}

/// Creates `path` readable and writable by the owner only, failing if it exists.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = Token::generate("gmcp");
        let b = Token::generate("gmcp");
        assert!(a.reveal().starts_with("gmcp_"));
        assert_ne!(a.reveal(), b.reveal());
        // 32 bytes of base64url without padding.
        assert_eq!(a.reveal().len(), "gmcp_".len() + 43);
        assert!(a.hash().ct_eq(&TokenHash::of(a.reveal())));
        assert!(!a.hash().ct_eq(&b.hash()));
        assert!(!format!("{a:?}").contains(a.reveal()));
    }

    #[test]
    fn sealing_round_trips_and_binds_the_record() {
        let key = SealingKey::from_bytes(random_bytes());
        let sealed = key.seal(b"gl_live_key", "acct_1");
        assert!(!sealed.windows(11).any(|w| w == b"gl_live_key"));
        assert_eq!(key.open(&sealed, "acct_1").unwrap(), b"gl_live_key");
        assert!(key.open(&sealed, "acct_2").is_err(), "bound to its record");
        let other = SealingKey::from_bytes(random_bytes());
        assert!(other.open(&sealed, "acct_1").is_err());
    }

    #[test]
    fn derived_keys_are_per_label_and_the_check_recognises_only_its_key() {
        let key = SealingKey::from_bytes([1; 32]);
        assert_ne!(key.derive("a"), key.derive("b"));
        assert_eq!(key.derive("a"), SealingKey::from_bytes([1; 32]).derive("a"), "deterministic: every replica derives the same");
        assert!(key.matches_check(&key.check_value()));
        assert!(!SealingKey::from_bytes([2; 32]).matches_check(&key.check_value()));
        assert!(!key.matches_check(&key.check_value()[..31]), "a truncated check does not match");
        // Known answer: HMAC-SHA256(key = 32 bytes of 0x01, "gumloop-mcp/key-check/v1"); a
        // change of construction would make every stored check fail.
        // (computed independently, with Python's hmac module)
        assert_eq!(hex(&key.check_value()), "efdd454f059e6a2d5a5d955b39d3deb110ef54ba2662e33f1f16f767e14d275a");
    }

    #[test]
    fn a_shared_database_requires_the_key_in_the_environment() {
        for missing in [None, Some(""), Some("  ")] {
            let err = SealingKey::require_env(missing).unwrap_err().to_string();
            assert!(err.contains("GUMLOOP_MCP_SECRET_KEY is not set") && err.contains("openssl rand -hex 32"), "{err}");
        }
        let hex_key = "ab".repeat(32);
        assert!(SealingKey::require_env(Some(&hex_key)).is_ok());
        let err = SealingKey::require_env(Some("not-a-key")).unwrap_err().to_string();
        assert!(err.contains("must be 32 bytes") && !err.contains("not-a-key"), "the value is never echoed: {err}");
    }

    #[test]
    fn keys_parse_from_hex_or_base64_and_files_are_private() {
        let hex = "00".repeat(32);
        assert!(SealingKey::parse(&hex, "k").is_ok());
        assert!(SealingKey::parse(&base64::engine::general_purpose::STANDARD.encode([7u8; 32]), "k").is_ok());
        let err = SealingKey::parse("short", "GUMLOOP_MCP_SECRET_KEY").unwrap_err().to_string();
        assert!(err.contains("GUMLOOP_MCP_SECRET_KEY must be 32 bytes"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let (k1, s1) = SealingKey::load(dir.path(), None).unwrap();
        let (k2, s2) = SealingKey::load(dir.path(), None).unwrap();
        assert_eq!((s1, s2), (KeySource::Created, KeySource::File));
        assert_eq!(k2.open(&k1.seal(b"x", "c"), "c").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
