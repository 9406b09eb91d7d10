//! Placeholder OAuth storage while the backends are written (replaced by
//! `sqlite/oauth.rs` and `postgres/oauth.rs`).

use jiff::Timestamp;

use super::oauth::*;
use super::*;
use crate::managed::secrets::TokenHash;

#[async_trait::async_trait]
impl OAuthStore for PostgresStore {
    async fn create_user(&self, _user: NewUser, _now: Timestamp) -> Result<User> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn list_users(&self) -> Result<Vec<User>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn get_user(&self, _id: &str) -> Result<User> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn find_user(&self, _username: &str) -> Result<Option<(User, Option<String>)>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn update_user(&self, _id: &str, _patch: &UserPatch, _now: Timestamp) -> Result<User> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn delete_user(&self, _id: &str) -> Result<()> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn put_client(&self, _client: NewClient, _now: Timestamp) -> Result<Client> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn get_client(&self, _client_id: &str) -> Result<Option<Client>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn verify_client_secret(&self, _client_id: &str, _secret: &TokenHash) -> Result<bool> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn list_clients(&self) -> Result<Vec<Client>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn delete_client(&self, _client_id: &str) -> Result<()> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn put_browser_session(&self, _hash: &TokenHash, _user_id: Option<&str>, _expires_at: Timestamp) -> Result<()> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn get_browser_session(&self, _hash: &TokenHash, _now: Timestamp) -> Result<Option<BrowserSession>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn delete_browser_session(&self, _hash: &TokenHash) -> Result<()> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn put_pending(&self, _hash: &TokenHash, _request: &PendingRequest) -> Result<()> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn get_pending(&self, _hash: &TokenHash, _now: Timestamp) -> Result<Option<PendingRequest>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn take_pending(&self, _hash: &TokenHash, _now: Timestamp) -> Result<Option<PendingRequest>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn create_grant(&self, _grant: NewGrant, _code: &TokenHash, _record: &CodeRecord, _now: Timestamp) -> Result<Grant> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn take_code(&self, _code: &TokenHash, _now: Timestamp) -> Result<TakenCode> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn list_grants(&self, _user_id: Option<&str>) -> Result<Vec<Grant>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn get_grant(&self, _id: &str) -> Result<Grant> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn revoke_grant(&self, _id: &str, _now: Timestamp) -> Result<Grant> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn issue_tokens(&self, _grant_id: &str, _tokens: &TokenPair, _now: Timestamp) -> Result<()> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn resolve_access_token(&self, _hash: &TokenHash, _now: Timestamp) -> Result<Option<ResolvedGrant>> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn rotate_refresh(&self, _old: &TokenHash, _client_id: &str, _new: &TokenPair, _now: Timestamp) -> Result<Rotation> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn revoke_token(&self, _hash: &TokenHash, _client_id: &str, _now: Timestamp) -> Result<()> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
    async fn sweep_oauth(&self, _now: Timestamp) -> Result<usize> {
        Err(StoreError::Invalid("OAuth storage is not built for this backend yet".into()))
    }
}
