"""Throwaway certificates for the TLS samples, tests and benchmark.

Makes a CA, and certificates it signs, with the ``cryptography`` package
(in gort's ``test`` extra), written as PEM files into a directory::

    ca = make_ca(tmpdir)                                  # ca.cert, ca.key
    srv = make_cert(tmpdir, ca, "server", ["localhost", "127.0.0.1"])
    cli = make_cert(tmpdir, ca, "client", [], client=True)
    srv.cert, srv.key, ca.cert                            # file paths

Never use these outside a test: the keys are unprotected and short-lived.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from typing import Any


@dataclass
class Issued:
    """A certificate and its key as PEM files (``cert``, ``key``), and the
    objects themselves for signing further certificates."""

    cert: str
    key: str
    cert_obj: Any
    key_obj: Any


def _write(path: str, data: bytes) -> str:
    with open(path, "wb") as f:
        f.write(data)
    return path


def _save(dirpath: str, name: str, cert: Any, key: Any) -> Issued:
    from cryptography.hazmat.primitives import serialization
    cpath = _write(os.path.join(dirpath, name + ".cert"),
                   cert.public_bytes(serialization.Encoding.PEM))
    kpath = _write(os.path.join(dirpath, name + ".key"), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return Issued(cpath, kpath, cert, key)


def _name(cn: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: Any, issuer: Any, pub: Any, days: int) -> Any:
    from cryptography import x509
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def make_ca(dirpath: str, name: str = "ca", cn: str = "gort test CA") -> Issued:
    """A self-signed CA certificate (EC P-256) in dirpath/name.cert and .key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(_name(cn), _name(cn), key.public_key(), 30)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return _save(dirpath, name, cert, key)


def make_cert(dirpath: str, ca: Issued, name: str, hosts: list[str],
              client: bool = False, cn: str | None = None) -> Issued:
    """A leaf certificate signed by ``ca`` with ``hosts`` (DNS names or IP
    literals) as subjectAltNames; ``client=True`` makes a client certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[Any] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    b = (_builder(_name(cn or name), ca.cert_obj.subject, key.public_key(), 30)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             ca.key_obj.public_key()), critical=False))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return _save(dirpath, name, b.sign(ca.key_obj, hashes.SHA256()), key)
