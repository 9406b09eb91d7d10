//! Signed download URLs: minted for artifacts and skills with an HMAC and an expiry, and
//! served under `/signed/` without credentials, as Gumloop's storage links are.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::input::{Q, S};
use crate::data::EMPTY_ZIP;
use crate::state::Inner;

fn sign(secret: &str, path: &str, expires: u64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{path}?{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn signed_url(s: &Inner, kind: &str, id: &str) -> String {
    let path = format!("/signed/{kind}/{id}");
    let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 300;
    format!("{}{path}?expires={expires}&signature={}", s.origin, sign(&s.config.signing_secret, &path, expires))
}

pub async fn signed_download(State(s): S, Path((kind, id)): Path<(String, String)>, Query(q): Q) -> Response {
    let path = format!("/signed/{kind}/{id}");
    let (Some(expires), Some(sig)) = (q.get("expires").and_then(|e| e.parse::<u64>().ok()), q.get("signature")) else {
        return (StatusCode::FORBIDDEN, "missing signature").into_response();
    };
    if sign(&s.config.signing_secret, &path, expires) != *sig {
        return (StatusCode::FORBIDDEN, "bad signature").into_response();
    }
    if expires < SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() {
        return (StatusCode::FORBIDDEN, "expired").into_response();
    }
    match kind.as_str() {
        "artifacts" => match s.store.lock().unwrap().artifact_bodies.get(&id) {
            Some((media_type, body)) => ([("content-type", media_type.clone())], body.clone()).into_response(),
            None => ([("content-type", "text/csv".to_owned())], "a,b\n1,2\n3,4\n".to_owned()).into_response(),
        },
        _ => ([("content-type", "application/zip")], EMPTY_ZIP).into_response(),
    }
}
