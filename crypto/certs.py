"""Self-signed X.509 certificates for a node's mutual-TLS identity.

Each node is its own trust anchor: its certificate is self-signed, and peers pin it by the
SHA-256 fingerprint of its DER encoding (published in the federation directory). There is no
shared CA whose compromise would let someone impersonate every node.

Pure: the caller supplies the key and the clock, and gets bytes back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crypto.errors import CertificateError

#: How long a node certificate is valid. Rotation is a re-init of the TLS pair and a
#: directory update; a year keeps the blast radius of a stolen key bounded.
CERT_VALIDITY = dt.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    """A PEM private key and the PEM self-signed certificate that goes with it."""

    key_pem: bytes
    cert_pem: bytes

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the certificate's DER bytes, lower-case hex."""
        return cert_fingerprint(self.cert_pem)


def new_tls_identity(node_name: str, *, now: dt.datetime) -> TlsIdentity:
    """Make a P-256 key and a self-signed certificate for ``node_name``.

    The certificate names the node in its CN and as a DNS SAN (the TLS target name peers
    use), and also carries ``localhost`` and ``127.0.0.1`` so loopback federations work.
    It is usable as both server and client certificate, as mutual TLS requires.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, node_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Accord federation node"),
        ]
    )
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName(node_name),
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return TlsIdentity(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM))


def load_certificate(cert_pem: bytes) -> x509.Certificate:
    """Parse a PEM certificate, raising :class:`CertificateError` on anything else."""
    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError as e:
        raise CertificateError("not a PEM X.509 certificate") from e


def cert_fingerprint(cert_pem: bytes) -> str:
    """SHA-256 over the DER encoding of a PEM certificate, lower-case hex."""
    cert = load_certificate(cert_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def cert_common_name(cert_pem: bytes) -> str:
    """The subject CN of a PEM certificate (the node name it claims)."""
    cert = load_certificate(cert_pem)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise CertificateError("certificate has no common name")
    value = names[0].value
    return value if isinstance(value, str) else value.decode()
