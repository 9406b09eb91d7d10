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

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f}\
h1{font-size:1.4rem}fieldset{border:1px solid #ccd;border-radius:.5rem;margin:1rem 0}\
label{display:block;margin:.4rem 0}input[type=text],input[type=password],select{width:100%;padding:.4rem;box-sizing:border-box}\
button{padding:.5rem 1.2rem;margin:.5rem .5rem 0 0;border-radius:.4rem;border:1px solid #446;background:#fff;cursor:pointer}\
button.primary{background:#2b4acb;color:#fff;border-color:#2b4acb}.error{color:#a40000;background:#fff0f0;padding:.5rem;border-radius:.4rem}\
.muted{color:#556}code{background:#f2f2f6;padding:0 .2rem;border-radius:.2rem}table{border-collapse:collapse;width:100%}\
td,th{text-align:left;padding:.3rem;border-bottom:1px solid #e3e3ea;vertical-align:top}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} · gumloop-mcp</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
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
    let mut s = format!("<p><strong id=\"client-name\">{}</strong>", esc(&c.name));
    if c.self_declared {
        s.push_str(" <span class=\"muted\">(the name is the client's own claim)</span>");
    }
    let _ = write!(
        s,
        "<br><span class=\"muted\">client id</span> <code id=\"client-id\">{}</code><br><span class=\"muted\">will receive access at</span> <code id=\"redirect-host\">{}</code></p>",
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
    if let Some(e) = p.error {
        let _ = write!(body, "<p class=\"error\" id=\"error\">{}</p>", esc(e));
    }
    if let Some(name) = p.oidc {
        let _ = write!(body, "<p><a id=\"oidc\" href=\"/oauth/upstream/start?request={}\">Sign in with {}</a></p>", esc(p.request), esc(name));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/oauth/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"request\" value=\"{}\">\
         <label>User name <input type=\"text\" name=\"username\" id=\"username\" autocomplete=\"username\" value=\"{}\" required></label>\
         <label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></label>\
         <button class=\"primary\" type=\"submit\" id=\"sign-in\">Sign in</button></form>",
        esc(p.csrf),
        esc(p.request),
        esc(p.username)
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
    if let Some(e) = p.error {
        let _ = write!(body, "<p class=\"error\" id=\"error\">{}</p>", esc(e));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/oauth/consent\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"request\" value=\"{}\">",
        esc(p.csrf),
        esc(p.request)
    );
    body.push_str("<fieldset><legend>Act as the Gumloop account</legend><select name=\"account\" id=\"account\">");
    for a in &p.accounts {
        let _ = write!(body, "<option value=\"{}\">{} ({})</option>", esc(&a.id), esc(&a.name), esc(&a.id));
    }
    body.push_str("</select></fieldset><fieldset><legend>What it may do</legend>");
    for s in &p.scopes {
        let _ = write!(
            body,
            "<label><input type=\"checkbox\" name=\"scope\" value=\"{}\"{}> {}</label>",
            esc(s.name),
            if s.checked { " checked" } else { "" },
            esc(s.description)
        );
    }
    body.push_str("</fieldset>");
    if !p.tags.is_empty() {
        body.push_str("<fieldset><legend>Only these areas <span class=\"muted\">(none ticked: all)</span></legend>");
        for t in &p.tags {
            let _ = write!(body, "<label><input type=\"checkbox\" name=\"tag\" value=\"{}\"> {}</label>", esc(t), esc(t));
        }
        body.push_str("</fieldset>");
    }
    body.push_str("<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Allow</button><button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button></form>");
    body.push_str("<p class=\"muted\">You can see and revoke what you allowed at <a href=\"/oauth/grants\">your grants</a>.</p>");
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
        let _ = write!(body, "<p id=\"notice\">{}</p>", esc(n));
    }
    if p.grants.is_empty() {
        body.push_str("<p id=\"none\">You have not allowed any application.</p>");
    } else {
        body.push_str("<table id=\"grants\"><tr><th>Application</th><th>For</th><th>Account</th><th>May</th><th>Since</th><th></th></tr>");
        for g in &p.grants {
            let action = match &g.revoked_at {
                Some(at) => format!("revoked {}", esc(at)),
                None => format!(
                    "<form method=\"post\" action=\"/oauth/grants/revoke\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"grant\" value=\"{}\"><button type=\"submit\" id=\"revoke-{}\">Revoke</button></form>",
                    esc(p.csrf),
                    esc(&g.id),
                    esc(&g.id)
                ),
            };
            let _ = write!(
                body,
                "<tr id=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
                esc(&g.id),
                esc(&g.client),
                esc(&g.resource),
                esc(&g.account),
                esc(&g.scope),
                esc(&g.created_at)
            );
        }
        body.push_str("</table>");
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/oauth/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\" id=\"sign-out\">Sign out</button></form>",
        esc(p.csrf)
    );
    layout("Your grants", &body)
}

/// A page that only says something (errors, "signed out").
pub fn message(title: &str, text: &str) -> String {
    layout(title, &format!("<h1>{}</h1><p id=\"message\">{}</p>", esc(title), esc(text)))
}

/// A sign-in form with no pending request, for the grants page.
pub fn grants_login(csrf: &str, error: Option<&str>, oidc: Option<&str>) -> String {
    let mut body = String::from("<h1>Sign in to see your grants</h1>");
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\" id=\"error\">{}</p>", esc(e));
    }
    if let Some(name) = oidc {
        let _ = write!(body, "<p><a id=\"oidc\" href=\"/oauth/upstream/start\">Sign in with {}</a></p>", esc(name));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/oauth/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>User name <input type=\"text\" name=\"username\" id=\"username\" autocomplete=\"username\" required></label>\
         <label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></label>\
         <button class=\"primary\" type=\"submit\" id=\"sign-in\">Sign in</button></form>",
        esc(csrf)
    );
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
}
