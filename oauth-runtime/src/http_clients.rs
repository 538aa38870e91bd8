//! The runtime's HTTP clients: its own, and one per client identity for the templates that
//! present a client certificate (mutual TLS, a template's `options.security`).
//!
//! A `reqwest::Client` takes its identity when it is built, so each distinct identity gets a
//! client of its own, built at its first call and reused (with its connection pool) after.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

/// How many identity clients are kept; beyond it, one is let go for each new identity.
const MAX_IDENTITY_CLIENTS: usize = 256;

/// What every client the runtime builds is configured with.
#[derive(Default)]
pub(crate) struct ClientSettings {
    /// Authorities trusted beside the platform's.
    pub(crate) roots: Vec<reqwest::Certificate>,
    /// Host names sent to fixed addresses.
    pub(crate) resolve: Vec<(String, SocketAddr)>,
}

impl ClientSettings {
    /// A client builder with these settings, following no redirect (a redirect must not
    /// carry a token to another place).
    pub(crate) fn builder(&self) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if !self.roots.is_empty() {
            builder = builder.tls_certs_merge(self.roots.iter().cloned());
        }
        for (host, address) in &self.resolve {
            builder = builder.resolve(host, *address);
        }
        builder
    }
}

/// Why a client identity cannot be used. Says nothing of its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityError {
    /// The key is encrypted; rustls reads only unencrypted keys.
    EncryptedKey,
    /// The certificate and key are not PEM, or not a certificate and a private key.
    Unreadable,
    /// The extra authority is not a PEM certificate.
    UnreadableCa,
    /// The TLS client refused them (a key that does not match the certificate, …).
    Refused,
}

impl IdentityError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            IdentityError::EncryptedKey => {
                "its private key is encrypted; store it unencrypted (`openssl pkey -in key.pem \
                 -out key-plain.pem`) in a secure iparam"
            }
            IdentityError::Unreadable => {
                "`cert` must be a PEM certificate (BEGIN CERTIFICATE) and `key` its PEM private \
                 key (BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"
            }
            IdentityError::UnreadableCa => "`ca` is not a PEM certificate",
            IdentityError::Refused => {
                "the TLS client refused the certificate and key (does the key belong to the \
                 certificate?)"
            }
        }
    }
}

/// The clients of the identities templates presented, by a digest of (certificate, key, ca).
pub(crate) struct IdentityClients {
    settings: ClientSettings,
    clients: Mutex<HashMap<[u8; 32], reqwest::Client>>,
}

impl IdentityClients {
    pub(crate) fn new(settings: ClientSettings) -> Self {
        IdentityClients {
            settings,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client presenting `certificate` and `key` (PEM), also trusting `ca` (PEM) when
    /// given: the one built for them before, or a new one; and the identity's digest.
    pub(crate) fn client(
        &self,
        certificate: &str,
        key: &str,
        ca: Option<&str>,
    ) -> Result<(reqwest::Client, [u8; 32]), IdentityError> {
        let digest = digest(certificate, key, ca);
        if let Some(client) = self.lock().get(&digest) {
            return Ok((client.clone(), digest));
        }
        let client = self.build(certificate, key, ca)?;
        let mut clients = self.lock();
        if clients.len() >= MAX_IDENTITY_CLIENTS
            && let Some(evicted) = clients.keys().next().copied()
        {
            clients.remove(&evicted);
        }
        // Two first calls may both build one: the first kept is the one used from then on.
        Ok((clients.entry(digest).or_insert(client).clone(), digest))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], reqwest::Client>> {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn build(
        &self,
        certificate: &str,
        key: &str,
        ca: Option<&str>,
    ) -> Result<reqwest::Client, IdentityError> {
        if key.contains("ENCRYPTED") {
            return Err(IdentityError::EncryptedKey);
        }
        // reqwest reads the certificate chain and the key from one PEM text.
        let mut pem = String::with_capacity(certificate.len() + key.len() + 1);
        pem.push_str(certificate);
        pem.push('\n');
        pem.push_str(key);
        let has_certificate = certificate.contains("-----BEGIN CERTIFICATE-----");
        let identity = reqwest::Identity::from_pem(pem.as_bytes())
            .ok()
            .filter(|_| has_certificate)
            .ok_or(IdentityError::Unreadable)?;
        let mut builder = self.settings.builder().identity(identity);
        if let Some(ca) = ca {
            let extra = reqwest::Certificate::from_pem_bundle(ca.as_bytes())
                .ok()
                .filter(|certificates| !certificates.is_empty())
                .ok_or(IdentityError::UnreadableCa)?;
            builder = builder.tls_certs_merge(self.settings.roots.iter().cloned().chain(extra));
        }
        builder.build().map_err(|_| IdentityError::Refused)
    }
}

/// SHA-256 of the three texts, each preceded by its length so that no two triples collide.
fn digest(certificate: &str, key: &str, ca: Option<&str>) -> [u8; 32] {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in [Some(certificate), Some(key), ca] {
        let part = part.map(str::as_bytes);
        let length = part.map_or(u64::MAX, |p| p.len() as u64);
        context.update(&length.to_le_bytes());
        context.update(part.unwrap_or_default());
    }
    let mut out = [0; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_differ_when_the_parts_move() {
        assert_ne!(digest("ab", "c", None), digest("a", "bc", None));
        assert_ne!(digest("a", "b", None), digest("a", "b", Some("")));
        assert_eq!(digest("a", "b", Some("c")), digest("a", "b", Some("c")));
    }

    #[test]
    fn unusable_identities_say_why_without_their_content() {
        let clients = IdentityClients::new(ClientSettings::default());
        let secret = "sekrit-key-material";
        let cases = [
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                format!(
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{secret}\n-----END ENCRYPTED PRIVATE KEY-----"
                ),
                IdentityError::EncryptedKey,
            ),
            ("not pem", secret.to_string(), IdentityError::Unreadable),
            (
                "",
                format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----"),
                IdentityError::Unreadable,
            ),
        ];
        for (certificate, key, expected) in cases {
            let error = clients
                .client(certificate, &key, None)
                .expect_err("unusable");
            assert_eq!(error, expected);
            assert!(!error.reason().contains(secret));
        }
    }
}
