//! The provider on https: a throwaway certificate authority made at start, and a server
//! certificate it signs for the names the provider answers to (`localhost`, `127.0.0.1` and
//! any host names a test maps to it). A client trusts the CA's certificate
//! ([`Provider::ca_certificate`](crate::Provider::ca_certificate)); nothing touches the
//! system's trust store.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The certificates of a provider served over https.
pub(crate) struct Tls {
    /// The CA's certificate, PEM: what a client trusts.
    pub(crate) ca_pem: String,
    pub(crate) acceptor: TlsAcceptor,
}

fn invalid(error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("the provider's certificates: {error}"))
}

/// A new CA, and a server certificate it signs for `names` (host names or IP addresses).
pub(crate) fn make(names: &[String]) -> std::io::Result<Tls> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(invalid)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "oauth-mock test authority (throwaway)");
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

    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_certificate.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .map_err(invalid)?;
    Ok(Tls {
        ca_pem: ca_certificate.pem(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// Serves `app` over TLS on `listener`, a connection at a time each in a task of its own.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
    app: axum::Router,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            // A client that does not trust the CA ends the handshake: nothing to serve.
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
