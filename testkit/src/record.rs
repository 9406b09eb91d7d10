//! Recorded requests, captured before any check so tests see exactly what was sent.

use std::collections::BTreeMap;

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The full path, including `/api/v1` or `/ws/api/v1`.
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Headers with lowercase names.
    pub headers: BTreeMap<String, String>,
    /// The parsed body.
    pub body: RecordedBody,
}

impl RecordedRequest {
    /// The first value of a query parameter.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A request body, parsed by content type.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordedBody {
    /// No body.
    Empty,
    /// `application/json`.
    Json(serde_json::Value),
    /// `multipart/form-data`.
    Multipart(Vec<RecordedPart>),
    /// Anything else.
    Raw(Vec<u8>),
}

/// One multipart part.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedPart {
    /// The field name.
    pub name: String,
    /// The file name, for file parts.
    pub filename: Option<String>,
    /// The part's content type.
    pub content_type: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}
