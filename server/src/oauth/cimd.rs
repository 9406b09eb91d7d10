//! Client ID Metadata Documents (interface; the fetcher is being written).

/// A fetched and checked client metadata document.
#[derive(Debug, Clone)]
pub struct ClientDocument {
    /// Equal to its URL.
    pub client_id: String,
    /// Display name.
    pub client_name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// `none`.
    pub token_endpoint_auth_method: String,
    /// Home page.
    pub client_uri: Option<String>,
    /// Logo.
    pub logo_uri: Option<String>,
}

/// Fetches documents.
#[derive(Debug, Clone)]
pub struct Fetcher {
    allow_private: bool,
}

/// Why a document was refused.
#[derive(Debug, thiserror::Error)]
pub enum CimdError {
    /// Not built yet.
    #[error("client metadata documents are not supported yet")]
    Unsupported,
}

impl Fetcher {
    /// A fetcher; `allow_private` only in tests.
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Fetches and checks `client_id`'s document.
    pub async fn fetch(&self, _client_id: &str) -> Result<ClientDocument, CimdError> {
        let _ = self.allow_private;
        Err(CimdError::Unsupported)
    }
}

/// Whether `client_id` is a metadata document URL.
pub fn is_metadata_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://")
}
