//! The closed vocabularies of the spec format (kinds, verbs, hosts, formats, argument
//! places), parsed when loading so a bad value is reported with its line.

use serde::Deserialize;

/// A method kind (`kind:`; spelled as in the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A collection read.
    List,
    /// A read of one record.
    Get,
    /// A write that makes something.
    Create,
    /// A write to one record.
    Update,
    /// A destructive write to one record.
    Delete,
    /// Anything else.
    Custom,
}

impl Kind {
    /// The standard kind a method key names (`list`, …), if it is one.
    pub fn standard(key: &str) -> Option<Kind> {
        Some(match key {
            "list" => Kind::List,
            "get" => Kind::Get,
            "create" => Kind::Create,
            "update" => Kind::Update,
            "delete" => Kind::Delete,
            _ => return None,
        })
    }

    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::List => "list",
            Kind::Get => "get",
            Kind::Create => "create",
            Kind::Update => "update",
            Kind::Delete => "delete",
            Kind::Custom => "custom",
        }
    }

    /// Whether the kind reads or writes one record by its `id`.
    pub fn by_id(self) -> bool {
        matches!(self, Kind::Get | Kind::Update | Kind::Delete)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP verb the spec format allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Verb {
    /// Every verb, in the order the spec format lists them.
    pub const ALL: [Verb; 5] = [Verb::Get, Verb::Post, Verb::Put, Verb::Patch, Verb::Delete];

    /// The verb as written (and sent).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

/// `http: VERB /path`: the verb is parsed when loading, the path checked by validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http {
    /// The verb.
    pub verb: Verb,
    /// The path template, e.g. `/agents/{id}`.
    pub path: String,
}

impl std::fmt::Display for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb.as_str(), self.path)
    }
}

impl std::str::FromStr for Http {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let Some((verb, path)) = s.trim().split_once(' ') else {
            return Err(format!("`{s}` is not `VERB /path` (write it like `GET /agents/{{id}}`)"));
        };
        let Some(verb) = Verb::ALL.into_iter().find(|v| v.as_str() == verb) else {
            let all: Vec<&str> = Verb::ALL.iter().map(|v| v.as_str()).collect();
            return Err(format!("unknown HTTP verb `{verb}`, expected one of {}", all.join(", ")));
        };
        Ok(Http { verb, path: path.trim().to_owned() })
    }
}

impl<'de> Deserialize<'de> for Http {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Http;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`VERB /path`")
            }
            // Parsed inside the visitor, so the YAML position is the value's.
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Http, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Which upstream host serves a method (`base:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Base {
    /// The REST host.
    #[default]
    Api,
    /// The streaming host.
    Ws,
}

/// How a list pages (`pagination:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pagination {
    /// Not paginated.
    #[default]
    None,
    /// `cursor` in, `next_cursor` out.
    Cursor,
    /// `page` in, `total_pages` out.
    Page,
}

/// What a success carries (`response:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseFormat {
    /// A JSON document.
    #[default]
    Json,
    /// Bytes.
    Binary,
}

/// How the body is sent (`body_format:`; `None` only in the IR, for no body at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// No body.
    #[serde(skip)]
    None,
    /// A JSON object.
    Json,
    /// Multipart parts.
    Multipart,
}

/// Where an argument goes upstream (`args.<name>.in:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// A path segment.
    Path,
    /// A query parameter.
    Query,
    /// A JSON field or multipart part.
    Body,
    /// Both query and body.
    Both,
}

impl Location {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Body => "body",
            Location::Both => "both",
        }
    }
}
