//! [`AccessToken`]: kept once, as the header value that sends it.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroize;

/// What goes before the token in the usual header, `Authorization: Bearer <token>`.
pub(crate) const BEARER: &str = "Bearer ";

/// A cached token as a request takes it without waiting for it.
pub(crate) enum ReadyToken {
    /// The value of its usual `Bearer` header, shared with the cache.
    Bearer(HeaderValue),
    /// The token itself (for other headers, or when it cannot be a header value).
    Token(AccessToken),
    /// Why it cannot be sent, which waiting would not change (scopes the app now asks for).
    Failed(Box<crate::tokens::TokenError>),
}

/// An access token. Its `Debug` is redacted; read it with [`AccessToken::secret`]. Cheap to
/// clone.
// One pointer, not the header value itself (five words): a token is kept per cached key and
// per stored record, and 110,000 keys would cost 7 MiB more.
#[derive(Clone)]
pub struct AccessToken(Arc<TokenText>);

enum TokenText {
    /// The usual token, kept once as the header value that sends it, `Bearer <token>`
    /// (marked sensitive): every request sending it shares these bytes, zeroed when the last
    /// one lets them go. The token's text is the part after `Bearer `.
    Bearer(HeaderValue),
    /// A token that cannot be a header value (a control character in it): kept as text; a
    /// request that would send it is refused.
    Text(SecretString),
}

/// Bytes zeroed when dropped: a token's header value is made of them.
struct Zeroing(Box<[u8]>);

impl AsRef<[u8]> for Zeroing {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Zeroing {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The header value `prefix`, `secret`, `suffix`, marked sensitive, its bytes zeroed when the
/// last request sharing them lets them go; `None` when that is not a valid header value.
pub(crate) fn secret_header_value(prefix: &str, secret: &str, suffix: &str) -> Option<HeaderValue> {
    let mut text = Vec::with_capacity(prefix.len() + secret.len() + suffix.len());
    text.extend_from_slice(prefix.as_bytes());
    text.extend_from_slice(secret.as_bytes());
    text.extend_from_slice(suffix.as_bytes());
    let text = Bytes::from_owner(Zeroing(text.into_boxed_slice()));
    let mut value = HeaderValue::from_maybe_shared(text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl AccessToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        let mut token = token.into();
        let text = match secret_header_value(BEARER, &token, "") {
            Some(value) => {
                token.zeroize();
                TokenText::Bearer(value)
            }
            None => {
                // Copied into a box of its own size: the string's buffer is zeroed here, not
                // let go as it is by a conversion that shrinks it.
                let text = SecretString::from(token.as_str());
                token.zeroize();
                TokenText::Text(text)
            }
        };
        AccessToken(Arc::new(text))
    }

    /// The token itself, for the one place that sends it.
    pub fn secret(&self) -> &str {
        match &*self.0 {
            TokenText::Bearer(value) => value
                .as_bytes()
                .get(BEARER.len()..)
                // Made from a `String`: always UTF-8.
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .unwrap_or_default(),
            TokenText::Text(text) => text.expose_secret(),
        }
    }

    /// The header value `Bearer <token>`, marked sensitive; `None` when the token cannot be
    /// a header value.
    pub(crate) fn bearer(&self) -> Option<HeaderValue> {
        match &*self.0 {
            TokenText::Bearer(value) => Some(value.clone()),
            TokenText::Text(_) => None,
        }
    }

    /// The token whose `Bearer` header value is `value` (made by [`bearer`](Self::bearer)).
    pub(crate) fn from_bearer(value: HeaderValue) -> Self {
        AccessToken(Arc::new(TokenText::Bearer(value)))
    }

    /// Whether it can be sent in a header (its [`bearer`](Self::bearer) value is `Some`).
    pub(crate) fn is_header_value(&self) -> bool {
        matches!(*self.0, TokenText::Bearer(_))
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::AccessToken;

    #[test]
    fn a_token_reads_back_whole_and_makes_its_bearer_header_once_for_all_its_clones() {
        for text in ["abc", "eyJhbGciOi.J9-_~+/=", "ünïcode-token", ""] {
            let token = AccessToken::new(text);
            assert_eq!(token.secret(), text);
            let header = token.bearer().expect("a header value");
            assert_eq!(header.as_bytes(), format!("Bearer {text}").as_bytes());
            assert!(header.is_sensitive());
            let again = token.clone().bearer().expect("a header value");
            assert_eq!(
                header.as_bytes().as_ptr(),
                again.as_bytes().as_ptr(),
                "shared, not copied"
            );
            assert_eq!(format!("{token:?}"), "AccessToken([REDACTED])");
        }
    }

    #[test]
    fn a_token_that_cannot_be_a_header_value_is_kept_as_text_and_has_no_bearer_header() {
        let token = AccessToken::new("abc\r\nX-Injected: 1");
        assert_eq!(token.secret(), "abc\r\nX-Injected: 1");
        assert!(token.bearer().is_none());
        assert!(!format!("{token:?}").contains("abc"));
    }
}
