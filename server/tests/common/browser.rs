//! A browser for the sign-in pages, over HTTP: no redirects followed, the one session
//! cookie kept by hand (it is `Secure`, which a cookie jar would not send over http even
//! to loopback), and readers for the pages' hidden fields and redirect queries.

use std::collections::HashMap;

/// A browser: no redirects followed, one cookie kept by hand (the session cookie is
/// `Secure`, which a cookie jar would not send over http even to loopback).
pub struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Browser {
    pub fn new() -> Self {
        Self { http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), cookie: None }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req.send().await.unwrap();
        for v in resp.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        let headers = resp.headers().clone();
        Page { status, location, html: resp.text().await.unwrap(), headers }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let req = self.http.get(url);
        self.send(req).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(url).form(form);
        self.send(req).await
    }
}

/// A hidden input's value in a page.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no `{name}` field in:\n{html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}
