//! Preparing a request to be sent: the builder's extras fixed, and the access token fetched
//! (at once when cached, else awaited) and kept, its headers checked, to be written into each
//! attempt's headers; after a 401, renewed.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use super::Shared;
use super::budget::Turn;
use super::builder::RequestBuilder;
use super::draft::{Draft, SentToken, TemplateInfo, set_header};
use crate::error::InvokeError;
use crate::tokens::{AccessToken, KeyRef, ReadyToken, Subject, TokenError, TokenKey, TokenSource};

impl RequestBuilder {
    /// Everything but the token is fixed from here on. A token not at hand is awaited in a
    /// box: only that is kept across the await, so the future of `send` stays a few words.
    pub(super) async fn prepare(self) -> Result<Prepared, Box<InvokeError>> {
        match self.start()? {
            Preparing::Ready(prepared) => Ok(prepared),
            Preparing::Waiting(waiting) => waiting.wait().await,
        }
    }

    /// Fixes the request; it is ready unless its token must be awaited. Errors are boxed
    /// until the caller sees them: the request and its results move as a pointer.
    pub(super) fn start(self) -> Result<Preparing, Box<InvokeError>> {
        let mut draft = self.0;
        if let Some(error) = draft.error.take() {
            return Err(error);
        }
        if draft.extras.is_some() {
            add_extras(&mut draft);
        }
        let prepared = Prepared { draft };
        if prepared.draft.token_headers.is_empty() {
            return Ok(Preparing::Ready(prepared));
        }
        // The usual `Bearer` header alone, from the runtime's own manager: its value, with
        // no count of the token itself, looked up by the key's parts (no key is made).
        let ready = match prepared.draft.shared.manager.as_deref() {
            Some(manager) if prepared.draft.token_headers.only_bearer() => {
                manager.ready_bearer(prepared.key_parts())
            }
            _ => ready_from_source(&prepared)?,
        };
        match ready {
            Some(ReadyToken::Bearer(value)) => Ok(prepared.with_bearer(value)),
            Some(ReadyToken::Token(token)) => prepared.with_token(token),
            Some(ReadyToken::Failed(error)) => prepared.not_at_hand(Some(error)),
            None => prepared.not_at_hand(None),
        }
    }
}

/// The token of the request's key if its source has it at hand, for headers other than the
/// usual `Bearer` one alone, or from a source of the app's own.
#[inline(never)]
fn ready_from_source(prepared: &Prepared) -> Result<Option<ReadyToken>, InvokeError> {
    let draft = &prepared.draft;
    let ready = token_source(&draft.shared, draft.template)?.ready_token(&prepared.key());
    Ok(ready.map(|ready| match ready {
        Ok(token) => ReadyToken::Token(token),
        Err(error) => ReadyToken::Failed(Box::new(error)),
    }))
}

/// The builder's query parameters (those the template's query leaves) and JSON content type.
#[inline(never)]
fn add_extras(draft: &mut Draft) {
    let Some(extras) = &draft.extras else {
        return;
    };
    let template_keys = draft.template.query_keys;
    let leaves = |(k, _): &&(String, String)| !template_keys.contains(&k.as_str());
    if let Some(url) = draft.url.as_mut()
        && extras.query.iter().any(|pair| leaves(&pair))
    {
        url.query_pairs_mut()
            .extend_pairs(extras.query.iter().filter(leaves));
    }
    if extras.json && !draft.headers.contains_key(CONTENT_TYPE) {
        draft
            .headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
}

/// A request fixed but for its token, which may have to be awaited.
pub(super) enum Preparing {
    Ready(Prepared),
    Waiting(Waiting),
}

/// A request whose token is not at hand.
pub(super) enum Waiting {
    /// The token of its key is to be awaited.
    Token(Prepared),
    /// No token: the error to return (once the URL to authorize at is known).
    Failed(Prepared, Box<TokenError>),
}

impl Waiting {
    /// The request once its token is at hand, or the error. Boxed, as every rare wait below:
    /// a call's future holds only what the usual path needs (finding the URL to authorize at
    /// takes a kilobyte).
    pub(super) fn wait(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Prepared, Box<InvokeError>>> + Send>> {
        match self {
            Waiting::Token(prepared) => Box::pin(prepared.fetch_token()),
            Waiting::Failed(prepared, error) => {
                Box::pin(async move { Err(Box::new(prepared.token_error_for(*error).await)) })
            }
        }
    }
}

fn token_source<'r>(
    shared: &'r Shared,
    template: &'static TemplateInfo,
) -> Result<&'r dyn TokenSource, InvokeError> {
    shared
        .tokens
        .as_deref()
        .ok_or_else(|| no_token_source(template))
}

#[cold]
#[inline(never)]
fn no_token_source(template: &'static TemplateInfo) -> InvokeError {
    InvokeError::from_token(
        template.name,
        template
            .integration
            .unwrap_or(oauth_rules::LEGACY_INTEGRATION),
        TokenError::no_token_source(),
    )
}

/// A request ready to go out, as many times as its attempts need: its token is in the draft
/// (and its key is made of the draft's installation, template and subject, when one is needed).
pub(super) struct Prepared {
    pub(super) draft: Box<Draft>,
}

impl Prepared {
    /// The request with the usual `Bearer` header's value at hand.
    #[inline]
    fn with_bearer(mut self, value: HeaderValue) -> Preparing {
        self.draft.token = Some(SentToken::Bearer(value));
        Preparing::Ready(self)
    }

    /// The request with a token at hand that is not the usual `Bearer` value: its headers
    /// made (a token that cannot be a header value is refused here, with its error).
    #[inline(never)]
    fn with_token(mut self, token: AccessToken) -> Result<Preparing, Box<InvokeError>> {
        self.set_token(token)?;
        Ok(Preparing::Ready(self))
    }

    /// The request whose token is not at hand: the token of its key to be awaited, or the
    /// reason there is none (`failed`). The template's own fault goes before either.
    #[inline(never)]
    fn not_at_hand(self, failed: Option<Box<TokenError>>) -> Result<Preparing, Box<InvokeError>> {
        self.check_token_header_text()?;
        Ok(Preparing::Waiting(match failed {
            None => Waiting::Token(self),
            Some(error) => Waiting::Failed(self, error),
        }))
    }

    /// Waits for the installation's turn when the runtime keeps a request budget, within the
    /// call's timeout; a turn later than that is [`InvokeError::RateLimited`] at once.
    pub(super) async fn wait_for_budget(&self) -> Result<(), InvokeError> {
        let Some(budgets) = &self.draft.shared.budgets else {
            return Ok(());
        };
        match budgets.take(&self.draft.installation, self.draft.timeout()) {
            Turn::Now => Ok(()),
            Turn::After(wait) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Turn::TooLate(retry_after) => {
                let limit = budgets.limit();
                Err(InvokeError::RateLimited {
                    template: self.draft.template.name,
                    installation: self.draft.installation.clone(),
                    requests: limit.requests,
                    per: limit.per,
                    retry_after,
                })
            }
        }
    }

    /// Awaits the token of its key from the token source (a refresh, a store read).
    async fn fetch_token(mut self) -> Result<Prepared, Box<InvokeError>> {
        let started = std::time::Instant::now();
        let key = self.key();
        let token = token_source(&self.draft.shared, self.draft.template)?
            .access_token(&key)
            .await;
        crate::metrics::token_wait(self.integration(), started.elapsed());
        let token = match token {
            Ok(token) => token,
            Err(error) => return Err(Box::new(self.token_error_for(error).await)),
        };
        self.set_token(token)?;
        Ok(self)
    }

    fn integration(&self) -> &'static str {
        self.draft
            .template
            .integration
            .unwrap_or(oauth_rules::LEGACY_INTEGRATION)
    }

    /// The key of the token it sends, borrowed.
    fn key_parts(&self) -> KeyRef<'_> {
        KeyRef {
            installation: &self.draft.installation,
            integration: self.integration(),
            subject: &self.draft.subject,
        }
    }

    /// The key of the token it sends.
    pub(super) fn key(&self) -> TokenKey {
        TokenKey {
            installation: self.draft.installation.clone(),
            integration: Cow::Borrowed(self.integration()),
            subject: self.draft.subject.clone(),
        }
    }

    fn token_error(&self, error: TokenError) -> InvokeError {
        InvokeError::from_token(self.draft.template.name, self.integration(), error)
    }

    /// A token error, with the URL to authorize at when the user must (agent integrations).
    async fn token_error_for(&self, error: TokenError) -> InvokeError {
        let mut error = self.token_error(error);
        if let InvokeError::ReauthorizationRequired {
            integration,
            subject: subject @ Subject::User(_),
            installation,
            authorize_url,
            ..
        } = &mut error
            && let Some(manager) = self.draft.shared.manager.as_deref()
        {
            *authorize_url = manager
                .authorize_url_for(&TokenKey {
                    installation: installation.clone(),
                    integration: Cow::Borrowed(integration),
                    subject: subject.clone(),
                })
                .await;
        }
        error
    }

    /// The text around the token in its headers, checked: done when the header is made, and
    /// before the token when that is not at hand.
    fn check_token_header_text(&self) -> Result<(), InvokeError> {
        let template = self.draft.template.name;
        self.draft
            .token_headers
            .iter()
            .try_for_each(|header| header.check_text(template))
    }

    /// Keeps the token to send, its headers checked (those other than the usual `Bearer`
    /// one are made now); they are written into each attempt's request.
    fn set_token(&mut self, token: AccessToken) -> Result<(), InvokeError> {
        if self.draft.token_headers.only_bearer()
            && let Some(value) = token.bearer()
        {
            self.draft.token = Some(SentToken::Bearer(value));
            return Ok(());
        }
        self.set_token_in_any_header(token)
    }

    #[inline(never)]
    fn set_token_in_any_header(&mut self, token: AccessToken) -> Result<(), InvokeError> {
        let made = self.draft.token_headers.make_values(&token);
        if !made {
            // The template's text is at fault, or else the token.
            self.check_token_header_text()?;
            return Err(self.token_error(TokenError::new(
                "the access token is not a valid header value",
            )));
        }
        self.draft.token = Some(SentToken::Token(token));
        Ok(())
    }

    /// Writes the token's headers into the last attempt's `headers`, and lets the kept token
    /// go: the usual `Bearer` header's value is moved, not copied.
    pub(super) fn take_token_headers(&mut self, headers: &mut HeaderMap) {
        let draft = &mut *self.draft;
        match draft.token.take() {
            Some(SentToken::Bearer(value)) => {
                set_header(headers, draft.token_headers.first_name().clone(), value);
            }
            Some(SentToken::Token(token)) => write_token_headers(draft, &token, headers),
            None => {}
        }
    }

    /// Writes the token's headers into the `headers` of an attempt that may be followed by
    /// another.
    pub(super) fn copy_token_headers(&self, headers: &mut HeaderMap) {
        let draft = &*self.draft;
        match &draft.token {
            Some(SentToken::Bearer(value)) => {
                set_header(
                    headers,
                    draft.token_headers.first_name().clone(),
                    value.clone(),
                );
            }
            Some(SentToken::Token(token)) => write_token_headers(draft, token, headers),
            None => {}
        }
    }

    /// After a 401: the token source's replacement for `rejected`, kept for the next attempt;
    /// false when there is none better and the 401 stands.
    pub(super) async fn renew_token(
        &mut self,
        rejected: &AccessToken,
    ) -> Result<bool, InvokeError> {
        let source = token_source(&self.draft.shared, self.draft.template)?;
        if self.draft.token_headers.is_empty() {
            return Ok(false);
        }
        let key = self.key();
        match source.rejected(&key, rejected).await {
            Ok(token) => self.set_token(token).map(|()| true),
            Err(TokenError::NotRenewed { .. }) => Ok(false),
            Err(error) => Err(Box::pin(self.token_error_for(error)).await),
        }
    }
}

/// Writes the headers made with `token` (see [`Prepared::set_token`]).
#[inline(never)]
fn write_token_headers(draft: &Draft, token: &AccessToken, headers: &mut HeaderMap) {
    for (name, value) in draft.token_headers.with_values(token) {
        // `set_token` made sure there is one.
        debug_assert!(value.is_some(), "a token header without its value");
        if let Some(value) = value {
            set_header(headers, name.clone(), value);
        }
    }
}
