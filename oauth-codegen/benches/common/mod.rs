//! The 100-template config the benchmarks share.
#![allow(dead_code)]

use oauth_codegen::{AppInput, CheckedApp, ClientSpec, InputFile, check};
use quote::quote;

/// 100 templates in the shapes real apps use: placeholders in host, path, query and headers,
/// `encode(…)`, defaults, OAuth on every other one.
pub(crate) fn generated_requests() -> String {
    let templates: Vec<String> = (0..100)
        .map(|i| {
            let oauth = if i % 2 == 0 {
                r#", "options": { "oauth": "freshservice", "maxAttempts": 3, "retryDelay": 500 }"#
            } else {
                ""
            };
            let auth = if i % 2 == 0 {
                "Bearer <%= access_token %>"
            } else {
                "Basic <%= encode(iparam.api_key + ':X') %>"
            };
            format!(
                r#"  "template{i}": {{
    "schema": {{
      "method": "POST",
      "host": "<%= iparam.domain %>.freshservice.com",
      "path": "/api/v2/tickets/<%= context.ticket_id %>/notes/<%= context.note_id %>",
      "headers": {{ "Authorization": "{auth}", "Content-Type": "application/json" }},
      "query": {{ "page": "<%= context.page || '1' %>", "per_page": 30 }}
    }}{oauth}
  }}"#
            )
        })
        .collect();
    format!("{{\n{}\n}}\n", templates.join(",\n"))
}

pub(crate) const OAUTH: &str = r#"{ "integrations": { "freshservice": {
  "display_name": "Freshservice", "client_id": "id", "client_secret": "secret",
  "authorize_url": "https://<%= oauth_iparams.domain %>/org/oauth/v2/authorize",
  "token_url": "https://<%= oauth_iparams.domain %>/org/oauth/v2/token",
  "options": { "scope": "freshservice.tickets.create" }, "token_type": "account",
  "oauth_iparams": { "domain": { "display_name": "Domain", "type": "text", "required": true } } } } }"#;

/// The 100-template app, checked.
pub(crate) fn checked_app(requests: &str) -> CheckedApp {
    check(AppInput {
        requests: Some(InputFile::in_memory("config/requests.json", requests)),
        oauth: Some(InputFile::in_memory("config/oauth_config.json", OAUTH)),
        ..AppInput::default()
    })
}

/// The client the benchmarks generate.
pub(crate) fn spec() -> ClientSpec {
    ClientSpec {
        name: "Helpdesk".to_string(),
        vis: quote!(pub),
        attrs: quote!(),
        runtime: quote!(::oauth_runtime),
        requests_label: "config/requests.json".to_string(),
        tracked_files: Vec::new(),
    }
}
