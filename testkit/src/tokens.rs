//! Token counts as a model pays them: OpenAI's `o200k_base` encoding, bundled in
//! `tiktoken-rs` (no download). Bytes/4 is only a rough guide; figures and checks about
//! what the server serves count with this.

pub mod tools;

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

fn encoding() -> &'static CoreBPE {
    static BPE: OnceLock<CoreBPE> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().expect("o200k_base is bundled in tiktoken-rs"))
}

/// The number of `o200k_base` tokens in `text`.
pub fn o200k(text: &str) -> usize {
    encoding().encode_with_special_tokens(text).len()
}

/// The tokens of `value` serialized compactly, as it goes over the wire.
pub fn o200k_json(value: &serde_json::Value) -> usize {
    o200k(&value.to_string())
}

/// The median of `counts` (the lower middle of an even count); 0 when empty.
pub fn median(counts: &mut [usize]) -> usize {
    counts.sort_unstable();
    if counts.is_empty() { 0 } else { counts[(counts.len() - 1) / 2] }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_with_the_real_encoding() {
        // "hello world" is two tokens in o200k_base; bytes/4 would say 2.75.
        assert_eq!(super::o200k("hello world"), 2);
        assert_eq!(super::o200k(""), 0);
        assert_eq!(super::median(&mut [5, 1, 3]), 3);
        assert_eq!(super::median(&mut [4, 1, 3, 2]), 2);
    }
}
