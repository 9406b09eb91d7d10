//! Upstream request descriptions and the helpers generated `build` functions use.

use base64::Engine as _;
use serde::Deserialize;

use crate::descriptor::{Base, HttpMethod};

/// Values the server fills from the credential when the caller leaves them out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The Gumloop user id (also sent as `x-auth-key`).
    pub user_id: Option<String>,
    /// The team id of a team key.
    pub team_id: Option<String>,
    /// The legacy workspace id.
    pub project_id: Option<String>,
}

impl Context {
    /// The value of a context parameter by its spec name.
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "user_id" => self.user_id.as_deref(),
            "team_id" => self.team_id.as_deref(),
            "project_id" => self.project_id.as_deref(),
            _ => None,
        }
    }
}

/// A plain description of one upstream HTTP call.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamRequest {
    /// The verb.
    pub method: HttpMethod,
    /// Which host.
    pub base: Base,
    /// The path below the base URL, every parameter already percent-encoded as one segment.
    pub path: String,
    /// Query pairs, in a deterministic order, not yet encoded.
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/json`.
    Json(serde_json::Value),
    /// `multipart/form-data`.
    Multipart(Vec<Part>),
}

/// One multipart part.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The form field name.
    pub name: String,
    /// Its value.
    pub value: PartValue,
}

/// The value of a multipart part.
#[derive(Debug, Clone, PartialEq)]
pub enum PartValue {
    /// A text field.
    Text(String),
    /// A file.
    File {
        /// The file name sent in `Content-Disposition`.
        filename: String,
        /// The part's content type, when known.
        media_type: Option<String>,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// A file passed as a tool argument: text `content` or base64 `content_base64`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileArg {
    /// The file name, e.g. `SKILL.md` or `bundle.zip`.
    pub filename: String,
    /// The file's content as UTF-8 text.
    #[serde(default)]
    pub content: Option<String>,
    /// The file's content, base64-encoded (for binary files).
    #[serde(default)]
    pub content_base64: Option<String>,
    /// The content type; guessed from the extension when absent.
    #[serde(default)]
    pub media_type: Option<String>,
}

impl FileArg {
    /// Turns the argument into a multipart file part named `field`.
    pub fn to_part(&self, field: &str, pointer: &str) -> Result<Part, ArgsError> {
        let bytes = match (&self.content, &self.content_base64) {
            (Some(text), None) => text.clone().into_bytes(),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| ArgsError::new(format!("{pointer}/content_base64"), format!("is not valid base64: {e}")))?,
            (Some(_), Some(_)) => {
                return Err(ArgsError::new(pointer, "give either `content` or `content_base64`, not both"));
            }
            (None, None) => return Err(ArgsError::new(pointer, "needs `content` (text) or `content_base64`")),
        };
        let media_type = self.media_type.clone().or_else(|| crate::rules::media_type(&self.filename).map(str::to_owned));
        Ok(Part { name: field.to_owned(), value: PartValue::File { filename: self.filename.clone(), media_type, bytes } })
    }
}

/// An argument that cannot be turned into a request, named by JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument {pointer}: {message}")]
pub struct ArgsError {
    /// A JSON pointer into the arguments (`""` for the whole object).
    pub pointer: String,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl ArgsError {
    /// Builds an error for the argument at `pointer`.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), message: message.into() }
    }
}

/// Deserialises a tool's arguments into its generated type, naming the offending argument.
pub fn from_args<T: serde::de::DeserializeOwned>(args: serde_json::Value) -> Result<T, ArgsError> {
    serde_path_to_error::deserialize(args).map_err(|e| {
        let pointer = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => Some(format!("/{index}")),
                serde_path_to_error::Segment::Map { key } => Some(format!("/{key}")),
                serde_path_to_error::Segment::Enum { variant } => Some(format!("/{variant}")),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect::<String>();
        ArgsError::new(pointer, e.into_inner().to_string())
    })
}

/// Serialises a typed argument back to JSON for a request body.
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Value {
    // Serialising plain data (strings, numbers, maps of `Value`) cannot fail.
    serde_json::to_value(value).expect("tool arguments serialise to JSON")
}

/// Returns the caller's value, else the credential's, else an error naming the argument.
pub fn fill_context(given: Option<String>, ctx: &Context, name: &str, required: bool) -> Result<Option<String>, ArgsError> {
    match given.or_else(|| ctx.get(name).map(str::to_owned)) {
        Some(v) => Ok(Some(v)),
        None if required => Err(ArgsError::new(format!("/{name}"), format!("is required: pass `{name}` or configure it on the server's Gumloop credential"))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_arg_text_and_base64() {
        let f = FileArg { filename: "SKILL.md".into(), content: Some("hi".into()), content_base64: None, media_type: None };
        let p = f.to_part("files", "/files/0").unwrap();
        assert_eq!(p.value, PartValue::File { filename: "SKILL.md".into(), media_type: Some("text/markdown".into()), bytes: b"hi".to_vec() });
        let f = FileArg { filename: "a.zip".into(), content: None, content_base64: Some("aGk=".into()), media_type: None };
        assert!(matches!(f.to_part("files", "/files/0").unwrap().value, PartValue::File { ref bytes, .. } if bytes == b"hi"));
        let f = FileArg { filename: "a".into(), content: None, content_base64: Some("!!".into()), media_type: None };
        assert_eq!(f.to_part("files", "/files/1").unwrap_err().pointer, "/files/1/content_base64");
    }

    #[test]
    fn context_fill_prefers_caller() {
        let ctx = Context { user_id: Some("u1".into()), ..Context::default() };
        assert_eq!(fill_context(Some("u2".into()), &ctx, "user_id", true).unwrap().as_deref(), Some("u2"));
        assert_eq!(fill_context(None, &ctx, "user_id", true).unwrap().as_deref(), Some("u1"));
        assert_eq!(fill_context(None, &ctx, "team_id", false).unwrap(), None);
        assert_eq!(fill_context(None, &ctx, "team_id", true).unwrap_err().pointer, "/team_id");
    }
}
