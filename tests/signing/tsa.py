"""An RFC 3161 timestamp authority on loopback: pyHanko's `DummyTimeStamper` behind werkzeug.

The pades adapter reaches it as it would reach a real TSA (pyHanko's `HTTPTimeStamper`, over HTTP);
only the authority's keys are made up here (a root and a TSA certificate with the timeStamping usage).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper
from werkzeug.wrappers import Request, Response


def _cert(subject: str, key: rsa.RSAPrivateKey, issuer: x509.Name | None, signer: rsa.RSAPrivateKey, *,
          tsa: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=not tsa, path_length=None), critical=True))
    if tsa:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return builder.sign(signer, hashes.SHA256())


class LoopbackTsa:
    def __init__(self, directory: Path) -> None:
        # pyHanko's DummyTimeStamper signs with RSA only.
        root_key, tsa_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
        root = _cert("Uji TSA Root", root_key, None, root_key, tsa=False)
        tsa = _cert("Uji TSA", tsa_key, root.subject, root_key, tsa=True)
        self.root_pem = directory / "tsa-root.pem"
        self.root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        der_key = tsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
        tsa_der = tsa.public_bytes(serialization.Encoding.DER)
        self._stamper = DummyTimeStamper(tsa_cert=asn1_x509.Certificate.load(tsa_der),
                                         tsa_key=asn1_keys.PrivateKeyInfo.load(der_key))
        self.requests = 0

    def __call__(self, request: Request) -> Response:
        self.requests += 1
        if request.method != "POST" or request.mimetype != "application/timestamp-query":
            return Response("expected an RFC 3161 query", status=400)
        answer = self._stamper.request_tsa_response(tsp.TimeStampReq.load(request.get_data()))
        return Response(answer.dump(), mimetype="application/timestamp-reply")
