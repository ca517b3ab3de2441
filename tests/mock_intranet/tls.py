"""A self-signed certificate for the SMTP server's STARTTLS, made once per data directory."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertificateFiles:
    """PEM files of a certificate valid for "localhost" and 127.0.0.1, and of its private key."""

    certificate: Path
    private_key: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the server side."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate, self.private_key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """An SSL context for clients that trusts this certificate (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.certificate))


def ensure_self_signed_certificate(folder: Path) -> CertificateFiles:
    """Create the certificate in `folder` unless it is already there."""
    files = CertificateFiles(folder / "smtp-cert.pem", folder / "smtp-key.pem")
    if files.certificate.exists() and files.private_key.exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _write_with_cryptography(files)
    except ImportError:
        _write_with_openssl(files)
    return files


def _write_with_cryptography(files: CertificateFiles) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files.private_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _write_with_openssl(files: CertificateFiles) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("STARTTLS needs the 'cryptography' package or the 'openssl' command; install one")
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "3650", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(files.private_key), "-out", str(files.certificate),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
