//! The sign-in pages, server-rendered: small, no framework, no script. Every value is
//! HTML-escaped; the forms carry the CSRF token and the pending request's handle.

use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "*{box-sizing:border-box}\
body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f}body.wide{max-width:56rem}\
h1{font-size:1.4rem;margin:0 0 1rem}a{color:#2b4acb}\
.client{border:1px solid #ccd;border-radius:.5rem;padding:.6rem 1rem;background:#f7f7fb;margin:1rem 0}\
fieldset{border:1px solid #ccd;border-radius:.5rem;margin:1rem 0;padding:.4rem 1rem .7rem}legend{font-weight:600;padding:0 .3rem}\
label{display:block;margin:.6rem 0}label.check{display:flex;gap:.6rem;align-items:baseline;margin:.35rem 0}\
.tags{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));column-gap:1rem}\
input[type=text],input[type=password],select{display:block;width:100%;margin-top:.2rem;padding:.45rem .5rem;font:inherit;border:1px solid #99a;border-radius:.3rem;background:#fff}\
button{font:inherit;padding:.45rem 1.2rem;margin:.6rem .5rem 0 0;border-radius:.4rem;border:1px solid #446;background:#fff;color:#1b1b1f;cursor:pointer}\
button.primary{background:#2b4acb;color:#fff;border-color:#2b4acb}\
:focus-visible{outline:3px solid #8ea2ff;outline-offset:2px}\
.error,.notice{padding:.5rem .75rem;border-radius:.4rem}.error{color:#a40000;background:#fff0f0;border:1px solid #f1c0c0}\
.notice{color:#0b5a1e;background:#eefbf0;border:1px solid #b9e3c2}\
.muted{color:#556}.small{font-size:.9rem}code{background:#ececf3;padding:0 .25rem;border-radius:.2rem;overflow-wrap:anywhere}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}\
td,th{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #e3e3ea;vertical-align:top}\
.when{white-space:nowrap}tr.revoked td{color:#778}td form button{margin:0;padding:.2rem .8rem}";

fn layout(title: &str, body: &str) -> String {
    layout_with(title, "", body)
}

/// `class` goes on `<body>` (`wide` for the grants table). The icon is empty so the
/// browser asks for no `/favicon.ico`.
fn layout_with(title: &str, class: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><link rel=\"icon\" href=\"data:,\"><title>{} · gumloop-mcp</title><style>{STYLE}</style></head><body class=\"{class}\">{body}</body></html>",
        esc(title)
    )
}

fn error_block(error: Option<&str>) -> String {
    error.map(|e| format!("<p class=\"error\" id=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default()
}

/// The user-name and password fields and the button; the password field has the focus
/// when the name is already there (after a wrong password).
fn credentials(username: &str) -> String {
    let (name_focus, password_focus) = if username.is_empty() { (" autofocus", "") } else { ("", " autofocus") };
    format!(
        "<label>User name <input type=\"text\" name=\"username\" id=\"username\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" value=\"{}\" required{name_focus}></label>\
         <label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required{password_focus}></label>\
         <button class=\"primary\" type=\"submit\" id=\"sign-in\">Sign in</button></form>",
        esc(username)
    )
}

/// Who is asking, as the pages show it.
#[derive(Debug, Clone)]
pub struct ClientView {
    /// Its name (self-declared for dynamic and metadata clients).
    pub name: String,
    /// `client_id` (a metadata client's is its URL, shown so the person can judge it).
    pub client_id: String,
    /// Whether the name is the client's own claim (dynamic and metadata clients).
    pub self_declared: bool,
    /// Where the code will be sent: the redirect URI's host.
    pub redirect_host: String,
}

fn client_block(c: &ClientView) -> String {
    let mut s = format!("<div class=\"client\"><strong id=\"client-name\">{}</strong>", esc(&c.name));
    if c.self_declared {
        s.push_str(" <span class=\"muted small\">(the name is the application's own claim)</span>");
    }
    let _ = write!(
        s,
        "<br><span class=\"muted\">client id</span> <code id=\"client-id\">{}</code><br><span class=\"muted\">will receive access at</span> <code id=\"redirect-host\">{}</code></div>",
        esc(&c.client_id),
        esc(&c.redirect_host)
    );
    s
}

/// The sign-in form.
#[derive(Debug, Clone)]
pub struct LoginPage<'a> {
    /// The pending request's handle.
    pub request: &'a str,
    /// The session's CSRF token.
    pub csrf: &'a str,
    /// The client asking.
    pub client: &'a ClientView,
    /// Why the last attempt failed.
    pub error: Option<&'a str>,
    /// The name typed last time.
    pub username: &'a str,
    /// Offer the company's sign-in.
    pub oidc: Option<&'a str>,
}

/// Renders the sign-in page.
pub fn login(p: &LoginPage<'_>) -> String {
    let mut body = String::from("<h1>Sign in to gumloop-mcp</h1>");
    body.push_str("<p>An application asks to use Gumloop on your behalf:</p>");
    body.push_str(&client_block(p.client));
    body.push_str(&error_block(p.error));
    if let Some(name) = p.oidc {
        let _ = write!(body, "<p><a id=\"oidc\" href=\"/oauth/upstream/start?request={}\">Sign in with {}</a></p>", esc(p.request), esc(name));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/oauth/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"request\" value=\"{}\">{}",
        esc(p.csrf),
        esc(p.request),
        credentials(p.username)
    );
    layout("Sign in", &body)
}

/// One account the person may choose.
#[derive(Debug, Clone)]
pub struct AccountChoice {
    /// `acct_…`.
    pub id: String,
    /// Its label.
    pub name: String,
}

/// One scope on offer.
#[derive(Debug, Clone)]
pub struct ScopeChoice {
    /// `tools:read`…
    pub name: &'static str,
    /// What it allows.
    pub description: &'static str,
    /// Requested by the client (checked by default).
    pub checked: bool,
}

/// The consent form.
#[derive(Debug, Clone)]
pub struct ConsentPage<'a> {
    /// The pending request's handle.
    pub request: &'a str,
    /// The session's CSRF token.
    pub csrf: &'a str,
    /// The client asking.
    pub client: &'a ClientView,
    /// Who is signed in.
    pub user: &'a str,
    /// What it is for: `/mcp` or a managed server's name.
    pub resource: &'a str,
    /// Accounts to choose from (one, for a managed server).
    pub accounts: Vec<AccountChoice>,
    /// Scopes on offer.
    pub scopes: Vec<ScopeChoice>,
    /// Tags the person may narrow to (none chosen: every tag).
    pub tags: Vec<String>,
    /// A problem with the last submission.
    pub error: Option<&'a str>,
}

/// Renders the consent page.
pub fn consent(p: &ConsentPage<'_>) -> String {
    let mut body = String::from("<h1>Allow access to Gumloop?</h1>");
    body.push_str(&client_block(p.client));
    let _ =
        write!(body, "<p>Signed in as <strong id=\"user\">{}</strong>. It asks to use <strong id=\"resource\">{}</strong>.</p>", esc(p.user), esc(p.resource));
    body.push_str(&error_block(p.error));
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/oauth/consent\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"request\" value=\"{}\">",
        esc(p.csrf),
        esc(p.request)
    );
    body.push_str("<fieldset><legend>Act as the Gumloop account</legend><select name=\"account\" id=\"account\" aria-label=\"Gumloop account\">");
    for a in &p.accounts {
        let _ = write!(body, "<option value=\"{}\">{} ({})</option>", esc(&a.id), esc(&a.name), esc(&a.id));
    }
    body.push_str("</select></fieldset><fieldset><legend>What it may do</legend>");
    for s in &p.scopes {
        let _ = write!(
            body,
            "<label class=\"check\"><input type=\"checkbox\" name=\"scope\" value=\"{}\"{}><span>{} <code class=\"small\">{}</code></span></label>",
            esc(s.name),
            if s.checked { " checked" } else { "" },
            esc(s.description),
            esc(s.name)
        );
    }
    body.push_str("</fieldset>");
    if !p.tags.is_empty() {
        body.push_str(
            "<fieldset><legend>Only these areas</legend><p class=\"muted small\">Optional: with none ticked, it may use every area.</p><div class=\"tags\">",
        );
        for t in &p.tags {
            let _ = write!(body, "<label class=\"check\"><input type=\"checkbox\" name=\"tag\" value=\"{}\"><span>{}</span></label>", esc(t), esc(t));
        }
        body.push_str("</div></fieldset>");
    }
    body.push_str("<p class=\"muted small\">Allow only if you started this from the application and trust it: it will act as the account above.</p>");
    body.push_str("<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Allow</button><button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>");
    body.push_str("<p class=\"muted small\">You can see and revoke what you allowed at <a href=\"/oauth/grants\">your grants</a>.</p>");
    layout("Allow access", &body)
}

/// One grant in the list.
#[derive(Debug, Clone)]
pub struct GrantRow {
    /// `grt_…`.
    pub id: String,
    /// The client's name.
    pub client: String,
    /// What it is for.
    pub resource: String,
    /// The account.
    pub account: String,
    /// The scope.
    pub scope: String,
    /// When.
    pub created_at: String,
    /// Revoked when.
    pub revoked_at: Option<String>,
}

/// The grants page.
#[derive(Debug, Clone)]
pub struct GrantsPage<'a> {
    /// The session's CSRF token.
    pub csrf: &'a str,
    /// Who is signed in.
    pub user: &'a str,
    /// Their grants, newest first.
    pub grants: Vec<GrantRow>,
    /// What just happened.
    pub notice: Option<&'a str>,
}

/// Renders the grants page.
pub fn grants(p: &GrantsPage<'_>) -> String {
    let mut body = format!("<h1>Your grants</h1><p>Signed in as <strong id=\"user\">{}</strong>.</p>", esc(p.user));
    if let Some(n) = p.notice {
        let _ = write!(body, "<p class=\"notice\" id=\"notice\" role=\"status\">{}</p>", esc(n));
    }
    if p.grants.is_empty() {
        body.push_str("<p id=\"none\">You have not allowed any application.</p>");
    } else {
        body.push_str(
            "<p class=\"muted\">The applications you allowed to use Gumloop as you. Revoking one stops its tokens at once; it must ask you again.</p>",
        );
        body.push_str(
            "<div class=\"scroll\"><table id=\"grants\"><tr><th>Application</th><th>For</th><th>Account</th><th>May</th><th>Since</th><th></th></tr>",
        );
        for g in &p.grants {
            let action = match &g.revoked_at {
                Some(at) => format!("<span class=\"when\">revoked {}</span>", esc(at)),
                None => format!(
                    "<form method=\"post\" action=\"/oauth/grants/revoke\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"grant\" value=\"{}\"><button type=\"submit\" id=\"revoke-{}\">Revoke</button></form>",
                    esc(p.csrf),
                    esc(&g.id),
                    esc(&g.id)
                ),
            };
            let _ = write!(
                body,
                "<tr id=\"{}\"{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"when\">{}</td><td>{action}</td></tr>",
                esc(&g.id),
                if g.revoked_at.is_some() { " class=\"revoked\"" } else { "" },
                esc(&g.client),
                esc(&g.resource),
                esc(&g.account),
                esc(&g.scope),
                esc(&g.created_at)
            );
        }
        body.push_str("</table></div>");
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/oauth/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" id=\"sign-out\">Sign out</button></form>",
        esc(p.csrf)
    );
    layout_with("Your grants", "wide", &body)
}

/// A page that only says something (errors, "signed out").
pub fn message(title: &str, text: &str) -> String {
    layout(title, &format!("<h1>{}</h1><p id=\"message\">{}</p>", esc(title), esc(text)))
}

/// After signing out: where to go next.
pub fn signed_out() -> String {
    layout(
        "Signed out",
        "<h1>Signed out</h1><p id=\"message\">You are signed out.</p><p><a id=\"grants-link\" href=\"/oauth/grants\">Sign in again</a> to see your grants.</p>",
    )
}

/// A sign-in form with no pending request, for the grants page (`username`: the name
/// typed last time; `oidc`: offer the company's sign-in).
pub fn grants_login(csrf: &str, error: Option<&str>, username: &str, oidc: Option<&str>) -> String {
    let mut body = String::from("<h1>Sign in to see your grants</h1>");
    body.push_str(&error_block(error));
    if let Some(name) = oidc {
        let _ = write!(body, "<p><a id=\"oidc\" href=\"/oauth/upstream/start\">Sign in with {}</a></p>", esc(name));
    }
    let _ =
        write!(body, "<form method=\"post\" action=\"/oauth/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">{}", esc(csrf), credentials(username));
    layout("Sign in", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        let c = ClientView { name: "<script>alert(1)</script>".into(), client_id: "x".into(), self_declared: true, redirect_host: "h".into() };
        let html = login(&LoginPage { request: "r", csrf: "c", client: &c, error: None, username: "", oidc: None });
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn a_failed_sign_in_keeps_the_name_and_focuses_the_password() {
        let c = ClientView { name: "App".into(), client_id: "x".into(), self_declared: false, redirect_host: "h".into() };
        let first = login(&LoginPage { request: "r", csrf: "c", client: &c, error: None, username: "", oidc: None });
        assert!(first.contains("value=\"\" required autofocus>"), "{first}");
        let again = login(&LoginPage { request: "r", csrf: "c", client: &c, error: Some("wrong"), username: "a\"lice", oidc: None });
        assert!(again.contains("value=\"a&quot;lice\" required>"), "{again}");
        assert!(again.contains("autocomplete=\"current-password\" required autofocus>"), "{again}");
        assert!(again.contains("role=\"alert\">wrong</p>"), "{again}");
    }
}
