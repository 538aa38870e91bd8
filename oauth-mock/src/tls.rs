//! The provider on https: a throwaway certificate authority made at start, and a server
//! certificate it signs for the names the provider answers to (`localhost`, `127.0.0.1` and
//! any host names a test maps to it). A client trusts the CA's certificate
//! ([`Provider::ca_certificate`](crate::Provider::ca_certificate)); nothing touches the
//! system's trust store.
//!
//! The same CA issues client certificates
//! ([`Provider::client_identity`](crate::Provider::client_identity)), which the mutual-TLS
//! side requires: a connection without one, or with one another authority signed, ends in the
//! handshake.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData as _,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

/// A client certificate and its private key, both PEM, as an app keeps them in its
/// installation parameters for a template's `options.security` (`cert`, `key`). `Debug`
/// shows neither.
#[derive(Clone)]
pub struct ClientIdentity {
    /// The certificate, PEM (`-----BEGIN CERTIFICATE-----`).
    pub certificate: String,
    /// The private key, PEM (PKCS #8, `-----BEGIN PRIVATE KEY-----`).
    pub key: String,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity").finish_non_exhaustive()
    }
}

/// The certificates of a provider served over https.
pub(crate) struct Tls {
    /// The CA's certificate, PEM: what a client trusts.
    pub(crate) ca_pem: String,
    /// Serves with the server certificate, asking no client certificate.
    pub(crate) acceptor: TlsAcceptor,
    /// Serves with the server certificate, requiring a client certificate the CA signed.
    pub(crate) mutual_acceptor: TlsAcceptor,
    /// Base64 of the SHA-256 of the server key's SubjectPublicKeyInfo.
    pub(crate) server_spki_sha256: String,
    issuer: Issuer<'static, KeyPair>,
}

fn invalid(error: impl fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("the provider's certificates: {error}"))
}

/// A new CA, and a server certificate it signs for `names` (host names or IP addresses).
pub(crate) fn make(names: &[String]) -> std::io::Result<Tls> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(invalid)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // A name of its own: a certificate another provider's authority signed is then one of
    // an unknown authority, not a bad signature of this one.
    let mut id = [0u8; 8];
    aws_lc_rs::rand::fill(&mut id).map_err(|_| invalid("no randomness"))?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("oauth-mock test authority {id} (throwaway)"),
    );
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(invalid)?;
    let ca_certificate = ca.self_signed(&ca_key).map_err(invalid)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut server = CertificateParams::new(names.to_vec()).map_err(invalid)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "oauth-mock provider");
    let server_key = KeyPair::generate().map_err(invalid)?;
    let server_certificate = server.signed_by(&server_key, &issuer).map_err(invalid)?;
    let chain = vec![server_certificate.der().clone()];
    let key = || PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));

    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key())
        .map_err(invalid)?;

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_certificate.der().to_vec()))
        .map_err(invalid)?;
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .map_err(invalid)?;
    let mutual = ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key())
        .map_err(invalid)?;
    let spki = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &server_key.subject_public_key_info(),
    );
    use base64::Engine as _;
    let server_spki_sha256 = base64::engine::general_purpose::STANDARD.encode(spki.as_ref());
    Ok(Tls {
        server_spki_sha256,
        ca_pem: ca_certificate.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
        mutual_acceptor: TlsAcceptor::from(Arc::new(mutual)),
        issuer,
    })
}

impl Tls {
    /// A client certificate for `name`, signed by the CA.
    pub(crate) fn client_identity(&self, name: &str) -> std::io::Result<ClientIdentity> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(invalid)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().map_err(invalid)?;
        let certificate = params.signed_by(&key, &self.issuer).map_err(invalid)?;
        Ok(ClientIdentity {
            certificate: certificate.pem(),
            key: key.serialize_pem(),
        })
    }
}

/// Serves `app` over TLS on `listener`, a connection at a time each in a task of its own;
/// counts the handshakes that succeed.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    app: axum::Router,
    handshakes: Arc<AtomicUsize>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let handshakes = handshakes.clone();
        tokio::spawn(async move {
            // A client that does not trust the CA, or (on the mutual side) shows no
            // certificate the CA signed, ends the handshake: nothing to serve.
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            handshakes.fetch_add(1, Ordering::Relaxed);
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
