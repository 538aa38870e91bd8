//! `/org/oauth/v2/authorize`: the consent page (account selection, scopes, Agree / Cancel) and
//! its decision, or an immediate redirect in auto-consent mode.

use std::time::Instant;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::page::{self, escape};
use crate::state::{Code, State, token};

/// What the consent form carries from the authorization request.
const REQUEST_PARAMS: [&str; 7] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// The parameters of an authorization request.
struct Request {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    scopes: Vec<String>,
    challenge: Option<String>,
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn parse(state: &State, pairs: &[(String, String)]) -> Result<Request, Response> {
    let bad = |message: &str| Err(page::error(StatusCode::BAD_REQUEST, message));
    let Some(client_id) = field(pairs, "client_id") else {
        return bad("client_id is missing");
    };
    if !state.data().clients.contains_key(client_id) {
        return bad("this client is not registered");
    }
    let Some(redirect_uri) = field(pairs, "redirect_uri") else {
        return bad("redirect_uri is missing");
    };
    // A test provider redirects only to this machine: never an open redirect elsewhere.
    if !is_loopback(redirect_uri) {
        return bad("the redirect URI must be on loopback (localhost, 127.0.0.1 or [::1])");
    }
    if field(pairs, "response_type") != Some("code") {
        return bad("only response_type=code is supported");
    }
    let challenge = field(pairs, "code_challenge").map(str::to_string);
    if challenge.is_none() && state.settings().require_pkce {
        return bad("PKCE is required: send a code_challenge");
    }
    if challenge.is_some() && field(pairs, "code_challenge_method") != Some("S256") {
        return bad("only the S256 code challenge method is supported");
    }
    Ok(Request {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        state: field(pairs, "state").map(str::to_string),
        // Spaces (RFC 6749 §3.3) or commas (GitHub, Slack, Shopify).
        scopes: field(pairs, "scope")
            .unwrap_or("")
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        challenge,
    })
}

fn is_loopback(uri: &str) -> bool {
    let Some(rest) = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    !authority.contains('@') && matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

fn pairs(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text).into_owned().collect()
}

/// `GET` of the authorize endpoint: the consent page. With auto-consent, the account is the
/// organisation the request was sent to (FreshID serves each organisation at its own domain,
/// `acme.myfreshworks.com`), when it is one of the provider's accounts, else the first.
pub(crate) fn show(state: &State, query: Option<&str>, host: Option<&str>) -> Response {
    let pairs = pairs(query.unwrap_or_default().as_bytes());
    let request = match parse(state, &pairs) {
        Ok(request) => request,
        Err(page) => return page,
    };
    if state.settings().auto_consent {
        let account = {
            let data = state.data();
            host.and_then(|host| data.accounts.iter().find(|a| a.as_str() == host))
                .or(data.accounts.first())
                .cloned()
                .unwrap_or_default()
        };
        return agree(state, request, account);
    }
    let (client_name, accounts, granted) = {
        let data = state.data();
        let name = data
            .clients
            .get(&request.client_id)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let first = data.accounts.first().cloned().unwrap_or_default();
        let granted = data
            .consents
            .get(&(first, request.client_id.clone()))
            .cloned()
            .unwrap_or_default();
        (name, data.accounts.clone(), granted)
    };
    // Only the authorization request's own parameters are carried: a `decision` or an
    // `account` slipped into the URL must not answer for the user.
    let hidden: String = pairs
        .iter()
        .filter(|(k, _)| REQUEST_PARAMS.contains(&k.as_str()))
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let accounts: String = accounts
        .iter()
        .enumerate()
        .map(|(i, account)| {
            format!(
                "<label><input type=\"radio\" name=\"account\" value=\"{0}\" id=\"account-{i}\"{1}> {0}</label>",
                escape(account),
                if i == 0 { " checked" } else { "" }
            )
        })
        .collect();
    let scopes: String = request
        .scopes
        .iter()
        .map(|scope| {
            if granted.contains(scope) {
                format!(
                    "<li class=\"granted\">{} (already granted)</li>",
                    escape(scope)
                )
            } else {
                format!("<li class=\"new\">{}</li>", escape(scope))
            }
        })
        .collect();
    page::html(
        StatusCode::OK,
        "Authorize",
        &format!(
            "<h1>{name} wants to access your account</h1>\
             <form method=\"post\" action=\"{action}\">{hidden}\
             <fieldset><legend>Choose an account</legend>{accounts}</fieldset>\
             <p>It asks for:</p><ul id=\"scopes\">{scopes}</ul>\
             <button id=\"agree\" name=\"decision\" value=\"agree\">Agree</button>\
             <button id=\"cancel\" name=\"decision\" value=\"cancel\">Cancel</button></form>",
            name = escape(&client_name),
            action = escape(&state.settings().profile.authorize_path),
        ),
    )
}

/// `POST` of the authorize endpoint: the consent form's decision.
pub(crate) fn decide(state: &State, body: &[u8]) -> Response {
    let pairs = pairs(body);
    let request = match parse(state, &pairs) {
        Ok(request) => request,
        Err(page) => return page,
    };
    let account = field(&pairs, "account").unwrap_or("").to_string();
    if field(&pairs, "decision") != Some("agree") {
        return redirect(&request, &[("error", "access_denied")]);
    }
    if !state.data().accounts.contains(&account) {
        return page::error(StatusCode::BAD_REQUEST, "choose one of the accounts");
    }
    agree(state, request, account)
}

fn agree(state: &State, request: Request, account: String) -> Response {
    let code = token(&format!("{}_code_", state.settings().profile.prefix));
    // A consent may grant fewer scopes than asked (RFC 6749 §3.3), as when the user unticks
    // some (Google's granular consent).
    let scopes: Vec<String> = match &state.settings().grant_only {
        Some(only) => request
            .scopes
            .iter()
            .filter(|s| only.contains(s))
            .cloned()
            .collect(),
        None => request.scopes.clone(),
    };
    {
        let mut data = state.data();
        data.issued.push(code.clone());
        let granted = data
            .consents
            .entry((account.clone(), request.client_id.clone()))
            .or_default();
        for scope in &scopes {
            if !granted.contains(scope) {
                granted.push(scope.clone());
            }
        }
        data.codes.insert(
            code.clone(),
            Code {
                client_id: request.client_id.clone(),
                redirect_uri: request.redirect_uri.clone(),
                account,
                scopes,
                challenge: request.challenge.clone(),
                issued: Instant::now(),
            },
        );
    }
    redirect(&request, &[("code", &code)])
}

fn redirect(request: &Request, params: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(params);
    if let Some(state) = &request.state {
        query.append_pair("state", state);
    }
    let separator = if request.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!("{}{separator}{}", request.redirect_uri, query.finish());
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(&location) {
        Ok(location) => {
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => page::error(StatusCode::BAD_REQUEST, "the redirect URI is not valid"),
    }
}
