//! Self-signed certificates for development, like Godot's `Crypto.generate_rsa` plus
//! `generate_self_signed_certificate` (used by `enet gen-cert`).

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509NameBuilder};

use super::DtlsError;

/// A PEM private key and certificate.
#[derive(Clone, Debug)]
pub struct PemPair {
    /// The private key (PKCS#8 PEM).
    pub key_pem: Vec<u8>,
    /// The certificate (PEM).
    pub cert_pem: Vec<u8>,
}

/// A new RSA-2048 key and a self-signed certificate for `common_name`, valid for
/// `days` days from now, naming `common_name` as its subject alternative name (DNS name,
/// or IP address when it parses as one) so that host-name verification accepts it.
pub fn self_signed_rsa(common_name: &str, days: u32) -> Result<PemPair, DtlsError> {
    let e = |e: openssl::error::ErrorStack| DtlsError::Setup(e.to_string());
    let key = PKey::from_rsa(Rsa::generate(2048).map_err(e)?).map_err(e)?;
    let mut name = X509NameBuilder::new().map_err(e)?;
    name.append_entry_by_text("CN", common_name).map_err(e)?;
    let name = name.build();
    let mut b = X509Builder::new().map_err(e)?;
    b.set_version(2).map_err(e)?;
    let mut serial = BigNum::new().map_err(e)?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false).map_err(e)?;
    let serial = serial.to_asn1_integer().map_err(e)?;
    b.set_serial_number(&serial).map_err(e)?;
    b.set_subject_name(&name).map_err(e)?;
    b.set_issuer_name(&name).map_err(e)?;
    b.set_pubkey(&key).map_err(e)?;
    let (from, until) = (
        Asn1Time::days_from_now(0).map_err(e)?,
        Asn1Time::days_from_now(days).map_err(e)?,
    );
    b.set_not_before(&from).map_err(e)?;
    b.set_not_after(&until).map_err(e)?;
    b.append_extension(BasicConstraints::new().critical().ca().build().map_err(e)?)
        .map_err(e)?;
    let mut san = SubjectAlternativeName::new();
    if common_name.parse::<std::net::IpAddr>().is_ok() {
        san.ip(common_name);
    } else {
        san.dns(common_name);
    }
    let san = san.build(&b.x509v3_context(None, None)).map_err(e)?;
    b.append_extension(san).map_err(e)?;
    b.sign(&key, MessageDigest::sha256()).map_err(e)?;
    Ok(PemPair {
        key_pem: key.private_key_to_pem_pkcs8().map_err(e)?,
        cert_pem: b.build().to_pem().map_err(e)?,
    })
}
