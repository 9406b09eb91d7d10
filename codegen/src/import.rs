//! Drafts spec files from an OpenAPI 3.0 document (filled in later).
