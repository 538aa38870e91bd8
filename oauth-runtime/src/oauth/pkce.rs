//! PKCE (RFC 7636) with S256, and the random values of an authorization request.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use secrecy::SecretString;

/// 32 random bytes as unpadded Base64url (43 characters): a `state` or a PKCE verifier.
/// `None` only if the system's random source fails.
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// `BASE64URL(SHA256(text))`: the S256 code challenge of a verifier (and the hash of a `state`
/// that the axum routes keep in a cookie).
pub(crate) fn challenge(text: &str) -> String {
    let hash = digest::digest(&digest::SHA256, text.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.as_ref())
}

/// A verifier and its challenge.
pub(crate) struct Pkce {
    pub(crate) verifier: SecretString,
    pub(crate) challenge: String,
}

impl Pkce {
    pub(crate) fn generate() -> Option<Self> {
        let verifier = random_token()?;
        Some(Pkce {
            challenge: challenge(&verifier),
            verifier: SecretString::from(verifier),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_values_are_43_url_safe_characters_and_differ() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
        let pkce = Pkce::generate().unwrap();
        assert_eq!(
            pkce.challenge,
            challenge(secrecy::ExposeSecret::expose_secret(&pkce.verifier))
        );
    }
}
