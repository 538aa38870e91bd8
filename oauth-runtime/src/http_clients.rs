//! The runtime's HTTP clients: its own, and one per client identity for the templates that
//! present a client certificate (mutual TLS, a template's `options.security`).
//!
//! A `reqwest::Client` takes its identity when it is built, so each distinct identity gets a
//! client of its own, built at its first call and reused (with its connection pool) after.

use crate::keyed::{KeyedLocks, let_oldest_go};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret as _, SecretString};

/// How many identity clients are kept (each keeps its own connections); beyond it, the least
/// recently used tenth go.
const MAX_IDENTITY_CLIENTS: usize = 1024;

/// What every client the runtime builds is configured with.
pub(crate) struct ClientSettings {
    /// Authorities trusted beside the platform's.
    pub(crate) roots: Vec<reqwest::Certificate>,
    /// Host names sent to fixed addresses.
    pub(crate) resolve: Vec<(String, SocketAddr)>,
    /// The runtime's timeout of a call, the client's own: a call without a timeout of its
    /// own then sets none on its request (setting one allocates the request's extensions).
    /// Every request the runtime makes for itself (the token endpoint's) sets its own.
    pub(crate) timeout: Duration,
}

impl ClientSettings {
    /// A client builder with these settings, following no redirect (a redirect must not
    /// carry a token to another place), and without reqwest's own retries: the runtime
    /// retries as each template says, and reqwest's policy (for HTTP/2 refusals, a protocol
    /// this client does not speak) copies every request in case it retries.
    pub(crate) fn builder(&self) -> reqwest::ClientBuilder {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never().max_retries_per_request(0));
        if !self.roots.is_empty() {
            builder = builder.tls_certs_merge(self.roots.iter().cloned());
        }
        builder = builder.timeout(self.timeout);
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

/// A client certificate a request presents: read from the installation's values when the
/// request is composed, its client found (or built) when it is sent. It has no `Debug`:
/// nothing prints its PEM.
pub(crate) struct Identity {
    certificate: String,
    key: SecretString,
    ca: Option<String>,
    /// SHA-256 of the three: the key of its client, and of cached answers.
    pub(crate) digest: [u8; 32],
}

impl Identity {
    pub(crate) fn new(certificate: &str, key: &str, ca: Option<&str>) -> Identity {
        Identity {
            digest: digest(certificate, key, ca),
            certificate: certificate.to_string(),
            key: SecretString::from(key),
            ca: ca.map(str::to_string),
        }
    }

    /// Whether it was made from these texts (the private key compared in constant time).
    pub(crate) fn is_made_of(&self, certificate: &str, key: &str, ca: Option<&str>) -> bool {
        let same_key = aws_lc_rs::constant_time::verify_slices_are_equal(
            self.key.expose_secret().as_bytes(),
            key.as_bytes(),
        )
        .is_ok();
        same_key && self.certificate == certificate && self.ca.as_deref() == ca
    }
}

struct Built {
    client: reqwest::Client,
    /// When a request last used it.
    used: Instant,
}

/// The clients of the identities templates presented, by digest: at most
/// [`MAX_IDENTITY_CLIENTS`], the least recently used tenth let go when full.
pub(crate) struct IdentityClients {
    settings: Arc<ClientSettings>,
    clients: Mutex<HashMap<[u8; 32], Built>>,
    /// The identities whose client is being built now, each once however many calls wait.
    building: KeyedLocks<[u8; 32]>,
}

impl IdentityClients {
    pub(crate) fn new(settings: ClientSettings) -> Self {
        IdentityClients {
            settings: Arc::new(settings),
            clients: Mutex::new(HashMap::new()),
            building: KeyedLocks::default(),
        }
    }

    /// The client built for `digest` before, if any; marked used.
    pub(crate) fn cached(&self, digest: &[u8; 32]) -> Option<reqwest::Client> {
        let mut clients = lock(&self.clients);
        let built = clients.get_mut(digest)?;
        built.used = Instant::now();
        Some(built.client.clone())
    }

    /// The client presenting `identity`: the one built before, or one built now, off the
    /// async workers (a client loads its trust roots: milliseconds), once however many calls
    /// need it at the same moment.
    pub(crate) async fn client(
        &self,
        identity: &Identity,
    ) -> Result<reqwest::Client, IdentityError> {
        if let Some(client) = self.cached(&identity.digest) {
            return Ok(client);
        }
        let _turn = self.building.lock(&identity.digest).await;
        if let Some(client) = self.cached(&identity.digest) {
            return Ok(client);
        }
        let settings = self.settings.clone();
        let (certificate, key, ca) = (
            identity.certificate.clone(),
            identity.key.clone(),
            identity.ca.clone(),
        );
        let built = tokio::task::spawn_blocking(move || {
            build(&settings, &certificate, key.expose_secret(), ca.as_deref())
        })
        .await
        .unwrap_or(Err(IdentityError::Refused));
        let client = built?;
        let mut clients = lock(&self.clients);
        if !clients.contains_key(&identity.digest) {
            let_oldest_go(&mut clients, MAX_IDENTITY_CLIENTS, |built| built.used);
        }
        clients.insert(
            identity.digest,
            Built {
                client: client.clone(),
                used: Instant::now(),
            },
        );
        Ok(client)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A client with `settings` presenting `certificate` and `key` (PEM), also trusting `ca`.
fn build(
    settings: &ClientSettings,
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
    let mut builder = settings.builder().identity(identity);
    if let Some(ca) = ca {
        let extra = reqwest::Certificate::from_pem_bundle(ca.as_bytes())
            .ok()
            .filter(|certificates| !certificates.is_empty())
            .ok_or(IdentityError::UnreadableCa)?;
        builder = builder.tls_certs_merge(settings.roots.iter().cloned().chain(extra));
    }
    builder.build().map_err(|_| IdentityError::Refused)
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

    #[tokio::test]
    async fn unusable_identities_say_why_without_their_content() {
        let clients = IdentityClients::new(ClientSettings {
            roots: Vec::new(),
            resolve: Vec::new(),
            timeout: Duration::from_secs(15),
        });
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
            let identity = Identity::new(certificate, &key, None);
            let error = clients.client(&identity).await.expect_err("unusable");
            assert_eq!(error, expected);
            assert!(!error.reason().contains(secret));
        }
    }
}
