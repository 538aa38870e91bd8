use super::*;
use crate::{AppInput, InputFile, check};

fn plan(requests: &str, oauth: Option<&str>) -> AppPlan {
    let input = AppInput {
        requests: Some(InputFile::in_memory("config/requests.json", requests)),
        oauth: oauth.map(|o| InputFile::in_memory("config/oauth_config.json", o)),
        ..AppInput::default()
    };
    let app = check(input);
    assert!(
        !app.diagnostics.has_errors(),
        "{}",
        app.diagnostics.render(&app.sources, false)
    );
    AppPlan::new(&app.config)
}

/// Looks values up by the text of their labels, as the CLI does; encodes as `b64(…)`.
struct Given<'a> {
    plan: &'a AppPlan,
    template: &'a TemplatePlan,
    values: &'a [(&'a str, &'a str)],
}

impl<'a> Lookup<'a> for Given<'a> {
    fn get(&self, term: &Term) -> Option<&'a str> {
        let label = match term {
            Term::Context(i) => format!("context.{}", self.template.context.get(*i)?.name),
            Term::Iparam(i) => self.plan.iparams.get(*i)?.label.clone(),
            _ => return None,
        };
        self.values
            .iter()
            .find(|(k, _)| *k == label)
            .map(|(_, v)| *v)
    }

    fn encode(&self, text: &str) -> String {
        format!("b64({text})")
    }
}

const FULL: &str = r#"{
  "getTicket": {
    "schema": {
      "method": "GET",
      "host": "<%= iparam.domain %>.freshservice.com",
      "path": "/api/v2/tickets/<%= context.ticket_id %>/notes",
      "query": { "include": "<%= context.include || 'requester' %>", "page": 2 },
      "headers": {
        "Authorization": "Bearer <%= access_token %>",
        "X-Key": "<%= encode(iparam.key + ':X') %>"
      }
    },
    "options": { "oauth": "freshservice", "maxAttempts": 3 }
  }
}"#;

const OAUTH: &str = r#"{
  "integrations": {
    "freshservice": {
      "display_name": "Freshservice",
      "client_id": "<%= oauth_iparams.client_id %>",
      "client_secret": "<%= oauth_iparams.client_secret %>",
      "authorize_url": "https://<%= oauth_iparams.org %>.myfreshworks.com/org/oauth/v2/authorize",
      "token_url": "https://<%= oauth_iparams.org %>.myfreshworks.com/org/oauth/v2/token",
      "options": { "scope": "freshservice.tickets.view" },
      "token_type": "agent",
      "oauth_iparams": {
        "client_id": { "display_name": "Client ID", "type": "text", "required": true },
        "client_secret": { "display_name": "Secret", "type": "text", "required": true, "secure": true },
        "org": { "display_name": "Org", "type": "text", "required": true }
      }
    }
  }
}"#;

#[test]
fn a_template_is_decided_once_names_types_integration_retries_and_steps() {
    let plan = plan(FULL, Some(OAUTH));
    let template = plan.template("getTicket").expect("planned");
    assert_eq!(template.method_name, "get_ticket");
    assert_eq!(template.context_name, "GetTicketContext");
    let context: Vec<(&str, bool)> = template
        .context
        .iter()
        .map(|f| (f.name.as_str(), f.optional))
        .collect();
    assert_eq!(context, [("ticket_id", false), ("include", true)]);
    assert_eq!(
        template.auth,
        Some(TemplateAuth {
            integration: "freshservice".into(),
            agent: true
        })
    );
    assert_eq!(template.max_attempts, 3);
    assert_eq!(template.retry_delay_ms, DEFAULT_RETRY_DELAY_MS);
    assert_eq!(template.query_keys, ["include", "page"]);
    // The host and the path text before the first context value are the fixed start.
    let kinds: Vec<&str> = template
        .steps
        .iter()
        .map(|s| match s {
            Step::HostText(_) => "host text",
            Step::HostValue(_) => "host value",
            Step::PathText(_) => "path text",
            Step::PathPrefix(_) => "path prefix",
            Step::PathValue(_) => "path value",
            Step::Query { .. } => "query",
            Step::Header { .. } => "header",
            Step::TokenHeader { .. } => "token header",
            Step::ClientIdentity { .. } => "client identity",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "host value",
            "host text",
            "path text",
            "header",
            "path value",
            "path text",
            "query",
            "query",
            "token header",
        ]
    );
    // The header of installation values alone is made with the URL's fixed start.
    assert_eq!(template.fixed_steps, 4);
    assert!(template.steps[8].is_bearer());
    assert!(!template.steps[3].is_bearer());
    assert_eq!(
        template.shown.request,
        "GET https://{iparam.domain}.freshservice.com/api/v2/tickets/{context.ticket_id}/notes"
    );
}

#[test]
fn values_evaluate_as_the_generated_code_evaluates_them() {
    let plan = plan(FULL, Some(OAUTH));
    let template = plan.template("getTicket").expect("planned");
    let eval = |step: usize, values: &[(&str, &str)]| {
        let given = Given {
            plan: &plan,
            template,
            values,
        };
        match &template.steps[step] {
            Step::Query { value, .. } | Step::Header { value, .. } => value.evaluate(&given),
            Step::HostValue(v) | Step::PathValue(v) | Step::PathPrefix(v) => {
                v.evaluate(&given).map(|t| t.into_owned())
            }
            _ => unreachable!(),
        }
    };
    // A single value with a default: the default when absent or empty.
    assert_eq!(eval(6, &[]).as_deref(), Ok("requester"));
    assert_eq!(
        eval(6, &[("context.include", "")]).as_deref(),
        Ok("requester")
    );
    assert_eq!(
        eval(6, &[("context.include", "stats")]).as_deref(),
        Ok("stats")
    );
    // Numbers are sent as written.
    assert_eq!(eval(7, &[]).as_deref(), Ok("2"));
    // A concatenation inside `encode(…)`, through the interpreter's encoding.
    assert_eq!(eval(3, &[("iparam.key", "k1")]).as_deref(), Ok("b64(k1:X)"));
    // An installation value that is absent is missing; a context value is empty.
    let domain = plan.iparams.iter().position(|f| f.label == "iparam.domain");
    assert_eq!(
        eval(0, &[]),
        Err(Missing::Iparam(domain.expect("an iparam")))
    );
    assert_eq!(eval(4, &[]).as_deref(), Ok(""));
}

#[test]
fn headers_of_installation_values_alone_join_the_fixed_part_and_secure_ones_are_secret() {
    let requests = r#"{
      "a": {
        "schema": {
          "method": "GET", "host": "<%= iparam.domain %>", "path": "/t/<%= context.id %>",
          "headers": {
            "X-Note": "<%= context.note %>",
            "X-Signed": "<%= iparam.api_key + context.note %>",
            "X-Region": "<%= iparam.region || 'us' %>",
            "Authorization": "Basic <%= encode(iparam.api_key + ':X') %>",
            "Accept": "application/json"
          }
        }
      },
      "b": {
        "schema": {
          "method": "GET", "host": "<%= context.host %>",
          "headers": { "X-Region": "<%= iparam.region %>" }
        }
      }
    }"#;
    let iparams = r#"{
      "domain": { "display_name": "D", "type": "text", "required": true },
      "region": { "display_name": "R", "type": "text" },
      "api_key": { "display_name": "K", "type": "text", "required": true, "secure": true }
    }"#;
    let input = AppInput {
        requests: Some(InputFile::in_memory("config/requests.json", requests)),
        iparams: Some(InputFile::in_memory("config/iparams.json", iparams)),
        ..AppInput::default()
    };
    let app = check(input);
    assert!(!app.diagnostics.has_errors());
    let plan = AppPlan::new(&app.config);
    let headers = |template: &TemplatePlan, range: std::ops::Range<usize>| -> Vec<(String, bool)> {
        template.steps[range]
            .iter()
            .filter_map(|step| match step {
                Step::Header { label, secret, .. } => Some((label.clone(), *secret)),
                _ => None,
            })
            .collect()
    };
    let a = plan.template("a").expect("planned");
    let fixed = headers(a, 0..a.fixed_steps);
    let per_call = headers(a, a.fixed_steps..a.steps.len());
    // In the template's order, after the URL's fixed start (host, `/t/`).
    assert_eq!(
        fixed,
        [
            ("header X-Region".to_string(), false),
            ("header Authorization".to_string(), true),
            ("header Accept".to_string(), false),
        ]
    );
    // A secure value beside a context value: made at each call, and secret.
    assert_eq!(
        per_call,
        [
            ("header X-Note".to_string(), false),
            ("header X-Signed".to_string(), true)
        ]
    );
    assert_eq!(a.fixed_steps, 5);
    // A host read from the context: nothing is fixed, the headers stay where they are.
    let b = plan.template("b").expect("planned");
    assert_eq!(b.fixed_steps, 0);
    assert_eq!(
        headers(b, 0..b.steps.len()),
        [("header X-Region".to_string(), false)]
    );
}

#[test]
fn retries_without_a_delay_wait_the_default_and_single_attempts_wait_nothing() {
    let requests = r#"{
      "a": { "schema": { "method": "GET", "host": "x.example.com" }, "options": { "maxAttempts": 2 } },
      "b": { "schema": { "method": "GET", "host": "x.example.com" } },
      "c": { "schema": { "method": "GET", "host": "x.example.com" }, "options": { "maxAttempts": 2, "retryDelay": 250 } }
    }"#;
    let plan = plan(requests, None);
    let delays: Vec<u16> = plan.templates.iter().map(|t| t.retry_delay_ms).collect();
    assert_eq!(delays, [DEFAULT_RETRY_DELAY_MS, 0, 250]);
}

#[test]
fn a_host_read_from_the_context_leaves_no_fixed_start_and_a_legacy_token_is_oauth() {
    let requests = r#"{
      "a": {
        "schema": { "method": "GET", "host": "<%= context.host %>", "path": "/x" },
        "options": { "isOAuth": true }
      }
    }"#;
    let oauth = r#"{
      "client_id": "id", "client_secret": "<%= oauth_iparams.s %>",
      "authorize_url": "https://example.com/a", "token_url": "https://example.com/t",
      "token_type": "account",
      "oauth_iparams": { "s": { "display_name": "S", "type": "text", "required": true } }
    }"#;
    let plan = plan(requests, Some(oauth));
    let template = plan.template("a").expect("planned");
    assert_eq!(template.fixed_steps, 0);
    let auth = template.auth.as_ref().expect("a token");
    assert_eq!(auth.integration, oauth_rules::LEGACY_INTEGRATION);
    assert!(!auth.agent);
    assert!(plan.legacy_oauth);
    let integration = plan.integration("oauth").expect("the legacy integration");
    assert!(integration.client_secret.is_some());
    assert_eq!(integration.variant, "Oauth");
}

#[test]
fn two_templates_with_one_method_name_are_planned_once() {
    let requests = r#"{
      "getTicket": { "schema": { "method": "GET", "host": "x.example.com" } },
      "get-ticket": { "schema": { "method": "GET", "host": "x.example.com" } }
    }"#;
    let input = AppInput {
        requests: Some(InputFile::in_memory("config/requests.json", requests)),
        ..AppInput::default()
    };
    let app = check(input);
    // The checker reports the clash; the plan keeps the first, so the skeleton compiles.
    assert!(app.diagnostics.has_errors());
    let plan = AppPlan::new(&app.config);
    let names: Vec<&str> = plan.templates.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["getTicket"]);
}
