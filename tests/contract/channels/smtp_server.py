"""A real SMTP server in the test process (aiosmtpd), recording what it receives, with
optional login, STARTTLS or implicit TLS (a self-signed certificate made here) and
scripted faults: a reply to RCPT or DATA of our choosing, or a connection dropped right
after the message content arrived."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMTP_USER = "orchestrator"
SMTP_PASSWORD = "s3cret-PASSWORD-marker"
DROP = "drop the connection"


@dataclass(frozen=True)
class Received:
    peer: tuple[Any, ...]
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    def email(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.content)


@dataclass
class RecordingHandler:
    """Stores every message it accepts. ``rcpt_replies`` and ``data_replies`` are queues
    of replies to give instead of accepting (``DROP``: store the message, then close the
    connection before answering, as a server that crashed after queueing it would)."""

    received: list[Received] = field(default_factory=list)
    rcpt_replies: deque[str] = field(default_factory=deque)
    data_replies: deque[str] = field(default_factory=deque)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_replies:
            return self.rcpt_replies.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self.data_replies.popleft() if self.data_replies else None
        if reply is not None and reply != DROP:
            return reply
        self.received.append(Received(session.peer, envelope.mail_from,
                                      tuple(envelope.rcpt_tos), envelope.original_content))
        if reply == DROP:
            server.transport.close()
        return "250 OK queued"


def check_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
          and auth_data.password == SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def smtp_server(handler: RecordingHandler, *, host: str = "127.0.0.1", port: int = 0,
                **smtp_options: Any) -> Iterator[Controller]:
    """aiosmtpd listening on ``host`` (a free port unless ``port``); ``smtp_options`` go
    to aiosmtpd's SMTP (``authenticator``, ``tls_context``, ``require_starttls``...) or
    its controller (``ssl_context`` for implicit TLS)."""
    controller = Controller(handler, hostname=host, port=port or free_port(host),
                            server_hostname="mx.test", **smtp_options)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def url_of(controller: Controller, scheme: str = "smtp", *, login: bool = False,
           password: str = SMTP_PASSWORD, host: str | None = None) -> str:
    credentials = f"{SMTP_USER}:{password}@" if login else ""
    return f"{scheme}://{credentials}{host or controller.hostname}:{controller.port}"


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for localhost and 127.0.0.1."""

    cert_file: Path
    key_file: Path
    pem: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """What the adapter is given for a private CA: trust exactly this certificate."""
        return ssl.create_default_context(cadata=self.pem)


def self_signed_certificate(folder: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Certificate(cert_file, key_file, pem.decode())


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (the one a default route
    would use), or None without one. A UDP connect sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address
