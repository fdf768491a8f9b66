//! The one TLS configuration every outbound HTTP client shares. reqwest's own builds a
//! platform verifier per client, reading and parsing the system's root certificates each time
//! (three or more times per cold start, one per connector client, and again per guarded fetch);
//! here the roots are loaded once per process, and only when a first certificate is checked,
//! so a start that contacts no network pays nothing for them.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, LazyLock, OnceLock};

/// The shared client configuration: TLS 1.2 and 1.3 with the compiled-in provider, the
/// system's roots through the platform verifier (as reqwest does by default), HTTP/1.1 by ALPN.
/// Cheap to clone (the verifier is shared).
pub fn client_config() -> rustls::ClientConfig {
    static CONFIG: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
        let provider = provider();
        let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("the provider supports the default TLS versions")
            .dangerous()
            // Not a weaker check: the platform verifier, built on first use.
            .with_custom_certificate_verifier(Arc::new(LazyVerifier {
                provider,
                inner: OnceLock::new(),
            }))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config
    });
    CONFIG.clone()
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// The platform verifier, made (the system roots read) the first time a certificate is checked.
#[derive(Debug)]
struct LazyVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyVerifier {
    fn verifier(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    // The handshake signatures need the provider's algorithms, not the roots.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_client_takes_the_shared_config() {
        assert_eq!(client_config().alpn_protocols, vec![b"http/1.1".to_vec()]);
        // reqwest refuses a preconfigured TLS it does not know (another rustls): these panic.
        let _ = crate::http::client();
        let _ = crate::guard::Guard::new(false).client();
        let _ = crate::guard::Guard::new(false).client_without_redirects(Duration::from_secs(1));
    }

    #[test]
    fn a_certificate_that_is_not_one_is_refused_not_waved_through() {
        let verifier = LazyVerifier {
            provider: provider(),
            inner: OnceLock::new(),
        };
        assert!(
            verifier.inner.get().is_none(),
            "no roots read before a check"
        );
        let e = verifier
            .verify_server_cert(
                &CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]),
                &[],
                &ServerName::try_from("example.com").unwrap(),
                &[],
                UnixTime::now(),
            )
            .unwrap_err();
        assert!(matches!(e, rustls::Error::InvalidCertificate(_)), "{e:?}");
        assert!(verifier.inner.get().is_some(), "the roots are loaded now");
    }
}
