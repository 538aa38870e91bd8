//! What token endpoints mean by their error answers, in each provider's own words: the one
//! table that decides whether a refused refresh means "the user must authorize again", "the
//! app's client credentials are wrong" or "try again later". Each row names the provider and
//! the documentation it follows. Codes not in the table are reported with the provider's own
//! code and description, and the token is kept.

/// What an error answer of a token endpoint means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// The grant (refresh token or code) is dead: revoked, expired or used.
    DeadGrant,
    /// The client's credentials were refused (or not found where the server looks for them):
    /// the other way of sending them may work; else fix the client id and secret.
    ClientAuthRefused,
    /// The client itself was refused (not allowed this grant, a redirect URI not registered):
    /// fix the client's registration; the user's grant is not at fault.
    BadClient,
    /// A passing failure: try again later.
    Passing,
}

struct Row {
    code: &'static str,
    meaning: Meaning,
    provider: &'static str,
    docs: &'static str,
}

const fn row(
    code: &'static str,
    meaning: Meaning,
    provider: &'static str,
    docs: &'static str,
) -> Row {
    Row {
        code,
        meaning,
        provider,
        docs,
    }
}

use Meaning::{BadClient, ClientAuthRefused, DeadGrant, Passing};

const RFC6749: &str = "https://www.rfc-editor.org/rfc/rfc6749#section-5.2";
const GITHUB_REFRESH: &str = "https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens";
const GITHUB_ERRORS: &str = "https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";
const SLACK_V2: &str = "https://api.slack.com/methods/oauth.v2.access";
const SLACK_V1: &str = "https://api.slack.com/methods/oauth.access";
const HUBSPOT: &str = "https://developers.hubspot.com/docs/api/oauth/tokens";

/// Error codes as token endpoints write them. Matched exactly: `bad_refresh_token` (GitHub)
/// and `BAD_REFRESH_TOKEN` (HubSpot) are two rows.
const ROWS: &[Row] = &[
    // RFC 6749 §5.2, which Google, Microsoft, Zoom, Bitbucket, GitLab, Asana, Miro, Podio,
    // Basecamp, TeamViewer and FreshID follow.
    row("invalid_grant", DeadGrant, "RFC 6749", RFC6749),
    row("invalid_client", ClientAuthRefused, "RFC 6749", RFC6749),
    row("unauthorized_client", BadClient, "RFC 6749", RFC6749),
    row(
        "temporarily_unavailable",
        Passing,
        "RFC 6749",
        "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1",
    ),
    row(
        "server_error",
        Passing,
        "RFC 6749",
        "https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1",
    ),
    // GitHub answers 200 with `error` (form-encoded unless JSON is asked for).
    row("bad_refresh_token", DeadGrant, "GitHub", GITHUB_REFRESH),
    row("bad_verification_code", DeadGrant, "GitHub", GITHUB_ERRORS),
    row(
        "incorrect_client_credentials",
        ClientAuthRefused,
        "GitHub",
        GITHUB_ERRORS,
    ),
    row("unverified_user_email", BadClient, "GitHub", GITHUB_ERRORS),
    // Slack answers 200 `{"ok": false, "error": …}`.
    row("invalid_refresh_token", DeadGrant, "Slack", SLACK_V2),
    row("token_revoked", DeadGrant, "Slack", SLACK_V2),
    row("token_expired", DeadGrant, "Slack", SLACK_V2),
    row("invalid_code", DeadGrant, "Slack", SLACK_V2),
    row("code_already_used", DeadGrant, "Slack", SLACK_V2),
    row("invalid_grant_type", BadClient, "Slack", SLACK_V2),
    row("invalid_client_id", ClientAuthRefused, "Slack", SLACK_V2),
    row("bad_client_secret", ClientAuthRefused, "Slack", SLACK_V2),
    row("bad_redirect_uri", BadClient, "Slack", SLACK_V1),
    row("ratelimited", Passing, "Slack", SLACK_V2),
    row("service_unavailable", Passing, "Slack", SLACK_V2),
    row("internal_error", Passing, "Slack", SLACK_V2),
    row("fatal_error", Passing, "Slack", SLACK_V2),
    row("request_timeout", Passing, "Slack", SLACK_V2),
    // HubSpot answers 400 `{"status": …, "message": …}`.
    row("BAD_REFRESH_TOKEN", DeadGrant, "HubSpot", HUBSPOT),
    row("BAD_AUTH_CODE", DeadGrant, "HubSpot", HUBSPOT),
    row("BAD_CLIENT_ID", ClientAuthRefused, "HubSpot", HUBSPOT),
    row("BAD_CLIENT_SECRET", ClientAuthRefused, "HubSpot", HUBSPOT),
    row("BAD_REDIRECT_URI", BadClient, "HubSpot", HUBSPOT),
    // Basecamp (Launchpad) answers 400 `authorization_expired` for a grant it no longer honours.
    row(
        "authorization_expired",
        DeadGrant,
        "Basecamp",
        "https://github.com/basecamp/bc3-api/blob/master/sections/authentication.md",
    ),
];

/// Codes too general to decide alone, told apart by the provider's description (matched
/// case-insensitively).
const BY_DESCRIPTION: &[(&str, &str, Row)] = &[
    // Atlassian answers 403 `unauthorized_client` "refresh_token is invalid" for a dead
    // rotating refresh token.
    (
        "unauthorized_client",
        "refresh_token is invalid",
        row(
            "unauthorized_client",
            DeadGrant,
            "Atlassian",
            "https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/",
        ),
    ),
    // Bitbucket answers 400 `unauthorized_client` "Invalid OAuth client credentials" for
    // credentials it does not take.
    (
        "unauthorized_client",
        "client credentials",
        row(
            "unauthorized_client",
            ClientAuthRefused,
            "Bitbucket",
            "https://developer.atlassian.com/cloud/bitbucket/rest/intro/#authentication",
        ),
    ),
    // Bitbucket answers 400 `invalid_request` "Invalid refresh_token" for a dead one.
    (
        "invalid_request",
        "invalid refresh_token",
        row(
            "invalid_request",
            DeadGrant,
            "Bitbucket",
            "https://developer.atlassian.com/cloud/bitbucket/rest/intro/#authentication",
        ),
    ),
];

/// What `code` (with its `description`) means, if a provider in the tables uses it; the row's
/// provider and documentation are logged (at debug level) for whoever wonders why.
pub(crate) fn meaning(code: &str, description: &str) -> Option<Meaning> {
    let description = description.to_ascii_lowercase();
    let row = BY_DESCRIPTION
        .iter()
        .find(|(c, words, _)| *c == code && description.contains(words))
        .map(|(_, _, row)| row)
        .or_else(|| ROWS.iter().find(|row| row.code == code))?;
    tracing::debug!(
        code = row.code,
        meaning = ?row.meaning,
        provider = row.provider,
        docs = row.docs,
        "the token endpoint's error code is known"
    );
    Some(row.meaning)
}

/// Whether an answer with a code of no known meaning is about the client's authentication
/// (`client_id` missing, as a server that ignored the Basic header sees it; HubSpot's "Any of
/// the listed authentication credentials are missing") rather than the grant.
pub(crate) fn is_about_client_authentication(description: &str) -> bool {
    let description = description.to_ascii_lowercase();
    [
        "credential",
        "client_id",
        "client_secret",
        "client authentication",
    ]
    .iter()
    .any(|words| description.contains(words))
}

/// The rows, for the test that checks each one.
#[cfg(test)]
pub(crate) fn rows() -> impl Iterator<Item = (&'static str, Meaning, &'static str, &'static str)> {
    ROWS.iter()
        .chain(BY_DESCRIPTION.iter().map(|(_, _, row)| row))
        .map(|row| (row.code, row.meaning, row.provider, row.docs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_names_its_provider_and_documentation_and_codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for row in ROWS {
            assert!(seen.insert(row.code), "`{}` twice", row.code);
        }
        for (code, meaning, provider, docs) in rows() {
            assert!(
                !provider.is_empty() && docs.starts_with("https://"),
                "{code}"
            );
            let description = BY_DESCRIPTION
                .iter()
                .find(|(_, _, row)| row.provider == provider && row.code == code)
                .map_or("", |(_, words, _)| words);
            assert_eq!(super::meaning(code, description), Some(meaning), "{code}");
        }
        assert_eq!(meaning("something_else", ""), None);
        assert_eq!(meaning("INVALID_GRANT", ""), None, "codes match exactly");
        assert_eq!(
            meaning("invalid_request", "Invalid refresh_token"),
            Some(Meaning::DeadGrant)
        );
        assert_eq!(meaning("invalid_request", "missing grant_type"), None);
        assert_eq!(
            meaning("unauthorized_client", "refresh_token is invalid"),
            Some(Meaning::DeadGrant),
            "Atlassian's dead refresh token"
        );
        assert_eq!(
            meaning("unauthorized_client", "the client may not use this grant"),
            Some(Meaning::BadClient)
        );
    }
}
