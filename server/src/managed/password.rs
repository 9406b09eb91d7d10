//! Local users' passwords: argon2id PHC strings (RustCrypto `argon2`, its default
//! parameters: 19 MiB, 2 passes). A password is never stored, logged or echoed.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

/// The PHC string of `password` (a fresh random salt).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2id with default parameters does not fail").to_string()
}

/// Whether `password` matches `phc` (false for a malformed hash).
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user is unknown, so an unknown name costs what a
/// known one does and timing does not tell them apart.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password that matches nothing"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_are_argon2id() {
        let h = super::hash("correct horse");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("correct horse", "not a hash"));
    }
}
