//! HTML of the consent page and of error pages: self-contained, nothing loaded from elsewhere.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font:16px system-ui,sans-serif;background:#f3f5f7;color:#12344d;margin:0}\
main{max-width:30em;margin:3em auto;background:#fff;border-radius:8px;padding:2em;\
box-shadow:0 1px 4px #0002}h1{font-size:1.3em;margin-top:0}ul{padding-left:1.2em}\
.granted{color:#6b7c8c}.new{font-weight:600}label{display:block;margin:.4em 0}\
fieldset{border:1px solid #cfd7df;border-radius:6px;margin:1em 0}\
button{font:inherit;padding:.5em 1.4em;border-radius:4px;border:1px solid #2c5cc5;margin-right:.5em}\
#agree{background:#2c5cc5;color:#fff}#cancel{background:#fff;color:#2c5cc5}";

pub(crate) fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        escape(title)
    );
    let mut response = (status, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // No `form-action`: Chromium applies it to the redirect that follows the form as well.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    html(
        status,
        "Authorization error",
        &format!("<h1>Authorization error</h1><p>{}</p>", escape(message)),
    )
}
