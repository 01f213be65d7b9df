"""The composition root: settings read once, validated at start, and the application built
from them.

This is the only module that reads the process environment. Everything below it takes
what it needs as arguments: the store URL, the templates folder, the stage thresholds,
the channel policy, the channels in force, the checkpoint signing key, the public URL,
the sender's postal address, the brand and the link secret. A bad value is refused here,
before any command runs, with the name of the variable (or option) that holds it and
never the value itself when it could be a secret (exit code 2).

Tests build the application through :func:`build` with fakes passed as parameters: a
fixed clock, in-memory channels, an environment of their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from orchestrator.bootstrap.providers import ProviderSettings, read_provider_settings
from orchestrator.domain.policy import PolicyConfig
from orchestrator.domain.stages import StageThresholds
from orchestrator.domain.vocabulary import CHANNELS
from orchestrator.errors import UsageError

Clock = Callable[[], datetime]

STORE_ENV = "ORCHESTRATOR_STORE"
DEFAULT_STORE_URL = "sqlite:///orchestrator.db"
THRESHOLDS_ENV = "ORCHESTRATOR_STAGE_THRESHOLDS"
SIGNING_KEY_ENV = "ORCHESTRATOR_SIGNING_KEY"
PUBLIC_KEY_ENV = "ORCHESTRATOR_CHECKPOINT_PUBLIC_KEY"
PUBLIC_URL_ENV = "ORCHESTRATOR_PUBLIC_URL"
POSTAL_ADDRESS_ENV = "ORCHESTRATOR_POSTAL_ADDRESS"
BRAND_ENV = "ORCHESTRATOR_BRAND_NAME"
HELP_TEXT_ENV = "ORCHESTRATOR_SMS_HELP_TEXT"
LINK_SECRET_ENV = "ORCHESTRATOR_LINK_SECRET"
EMAIL_FROM_ENV = "ORCHESTRATOR_EMAIL_FROM"
ACTOR_ENV = "ORCHESTRATOR_ACTOR"
SNAPSHOT_EVERY_ENV = "ORCHESTRATOR_ENGINE_SNAPSHOT_EVERY"
DEFAULT_SNAPSHOT_EVERY = 20_000

DRY_RUN = "dry-run"
LIVE = "live"
CHANNEL_SETS = (DRY_RUN, LIVE)

DRY_RUN_PUBLIC_URL = "https://orchestrator.example"
DRY_RUN_POSTAL_ADDRESS = "The shop, 1 Example Street, London EC1A 1AA, United Kingdom"
DEFAULT_BRAND = "The shop"
DEFAULT_HELP_TEXT = ("{brand}: reply STOP to stop messages, START to receive them again. "
                     "Msg&data rates may apply.")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# SPEC "Configuration of live channels": a channel is live when all of its variables are
# set (either of the Twilio senders will do).
LIVE_CHANNEL_VARIABLES: dict[str, tuple[tuple[str, ...], ...]] = {
    "email": (("SENDGRID_API_KEY", EMAIL_FROM_ENV), ("ORCHESTRATOR_SMTP_URL", EMAIL_FROM_ENV)),
    "sms": (("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"),
            ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID")),
    "mail": (("ORCHESTRATOR_MAIL_DIR", POSTAL_ADDRESS_ENV),),
    "social": (("MASTODON_BASE_URL", "MASTODON_ACCESS_TOKEN"),),
}


def wall_clock() -> datetime:
    """The product's one read of the wall clock; everything below takes "now" as input."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Settings:
    """Everything a command may need, typed and already validated."""

    store_url: str = DEFAULT_STORE_URL
    templates_dir: str = "templates"
    thresholds: StageThresholds = field(default_factory=StageThresholds)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    channel_set: str = DRY_RUN
    channels_in_force: frozenset[str] = CHANNELS
    outbox: str = "outbox"
    signing_key: Any = None  # an Ed25519PrivateKey, or None (checkpoints unsigned)
    checkpoint_public_key: bytes | None = None
    public_url: str = DRY_RUN_PUBLIC_URL
    postal_address: str = DRY_RUN_POSTAL_ADDRESS
    brand_name: str = DEFAULT_BRAND
    sms_help_text: str = DEFAULT_HELP_TEXT.format(brand=DEFAULT_BRAND)
    link_secret: bytes | None = None
    email_from: str | None = None
    actor: str = "unknown"
    providers: ProviderSettings = field(default_factory=ProviderSettings)
    # Save the engine's state once this many events were folded since the last save
    # (0: never; docs/engine-state.md).
    engine_snapshot_every: int = DEFAULT_SNAPSHOT_EVERY

    @property
    def redacted_store_url(self) -> str:
        from orchestrator.store import redact
        return redact(self.store_url)


def read_settings(environ: Mapping[str, str], *, store: str | None = None,
                  templates: str | None = None, policy: str | None = None,
                  channel_set: str = DRY_RUN, outbox: str | None = None,
                  actor: str | None = None, public_key: str | None = None,
                  working_dir: str | Path | None = None) -> Settings:
    """Settings from an environment and the command line's options (which win)."""
    env = {name: value for name, value in environ.items() if value != ""}
    here = Path(working_dir or ".")
    if channel_set not in CHANNEL_SETS:
        raise UsageError(f"--channels: unknown channel set {channel_set!r}; expected "
                         f"{' or '.join(CHANNEL_SETS)}")
    brand = env.get(BRAND_ENV, DEFAULT_BRAND)
    return Settings(
        store_url=store or env.get(STORE_ENV) or DEFAULT_STORE_URL,
        templates_dir=templates or "templates",
        thresholds=_thresholds(env.get(THRESHOLDS_ENV)),
        policy=_policy(policy, here),
        channel_set=channel_set,
        channels_in_force=CHANNELS if channel_set == DRY_RUN else configured_channels(env),
        outbox=outbox or "outbox",
        signing_key=_signing_key(env.get(SIGNING_KEY_ENV)),
        checkpoint_public_key=_public_key(public_key, env.get(PUBLIC_KEY_ENV)),
        public_url=_public_url(env.get(PUBLIC_URL_ENV, DRY_RUN_PUBLIC_URL)),
        postal_address=env.get(POSTAL_ADDRESS_ENV, DRY_RUN_POSTAL_ADDRESS),
        brand_name=brand,
        sms_help_text=env.get(HELP_TEXT_ENV, DEFAULT_HELP_TEXT.format(brand=brand)),
        link_secret=_link_secret(env.get(LINK_SECRET_ENV)),
        email_from=env.get(EMAIL_FROM_ENV),
        actor=actor or env.get(ACTOR_ENV) or env.get("USER") or "unknown",
        providers=read_provider_settings(env),
        engine_snapshot_every=_snapshot_every(env.get(SNAPSHOT_EVERY_ENV)),
    )


def _snapshot_every(text: str | None) -> int:
    if text is None:
        return DEFAULT_SNAPSHOT_EVERY
    if not text.strip().isdigit():
        raise UsageError(f"{SNAPSHOT_EVERY_ENV}: {text!r} is not a whole number of events "
                         "(0 turns engine snapshots off)")
    return int(text)


def configured_channels(env: Mapping[str, str]) -> frozenset[str]:
    """The channels whose provider is configured in ``env`` (SPEC, live channels)."""
    return frozenset(channel for channel, alternatives in LIVE_CHANNEL_VARIABLES.items()
                     if any(all(env.get(name) for name in names) for names in alternatives))


def _thresholds(text: str | None) -> StageThresholds:
    if not text:
        return StageThresholds()
    try:
        return StageThresholds.parse(text)
    except ValueError as error:
        raise UsageError(f"{THRESHOLDS_ENV}: {error}") from None


def _policy(path: str | None, here: Path) -> PolicyConfig:
    from orchestrator.campaigns.language.policy_file import load_policy
    if path is None and (here / "policy.yaml").is_file():
        path = str(here / "policy.yaml")
    return load_policy(path) if path else PolicyConfig()


def _signing_key(text: str | None) -> Any:
    if not text:
        return None
    from orchestrator.persistence.checkpoints import parse_signing_key
    try:
        return parse_signing_key(text.strip())
    except ValueError:
        # Never echo the value: it is a secret.
        raise UsageError(f"{SIGNING_KEY_ENV} is not an Ed25519 private key (base64 of 32 "
                         "raw bytes, or PEM)") from None


def _public_key(option: str | None, variable: str | None) -> bytes | None:
    text = (option or variable or "").strip()
    if not text:
        return None
    from orchestrator.persistence.checkpoints import parse_public_key
    where = "--public-key" if option else PUBLIC_KEY_ENV
    try:
        return parse_public_key(text)
    except ValueError:
        raise UsageError(f"{where}: the checkpoint public key must be base64 of 32 raw "
                         "Ed25519 bytes") from None


def _public_url(text: str) -> str:
    parts = urlsplit(text)
    secure = parts.scheme == "https" or (parts.scheme == "http"
                                         and parts.hostname in LOOPBACK_HOSTS)
    if not secure or not parts.hostname or parts.query or parts.fragment:
        raise UsageError(f"{PUBLIC_URL_ENV}: expected an https:// base URL without query "
                         f"(http:// only for localhost), e.g. https://messages.example.com")
    return text.rstrip("/")


def _link_secret(text: str | None) -> bytes | None:
    if text is None:
        return None
    if len(text) < 32:
        raise UsageError(f"{LINK_SECRET_ENV}: too short; use at least 32 random characters "
                         "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return text.encode()


@dataclass
class Application:
    """The product wired: settings, a clock, and the channels that carry messages.

    ``channels`` builds the adapters for a run, given the clock they stamp with; tests
    pass in-memory twins here instead of the dry-run outbox."""

    settings: Settings
    clock: Clock = wall_clock
    channels: Callable[[Settings, Clock], Mapping[str, Any]] | None = None

    def now(self) -> datetime:
        return self.clock()

    def channel_adapters(self, stamp: Clock) -> Mapping[str, Any]:
        factory = self.channels or default_channels
        adapters = factory(self.settings, stamp)
        in_force = {name: adapter for name, adapter in adapters.items()
                    if name in self.settings.channels_in_force}
        for name, adapter in adapters.items():
            close = getattr(adapter, "close", None)
            if name not in in_force and callable(close):
                close()
        return in_force


def default_channels(settings: Settings, stamp: Clock) -> Mapping[str, Any]:
    if settings.channel_set == LIVE:
        if not settings.channels_in_force:
            raise UsageError("--channels live: no channel is configured; set the provider "
                             "variables (see README, 'Configuring live channels')")
        if "email" in settings.channels_in_force and settings.link_secret is None:
            raise UsageError(f"{LINK_SECRET_ENV}: live email needs it, to sign the one-click "
                             "unsubscribe links that `serve` accepts")
        from orchestrator.bootstrap.live import live_channels
        return live_channels(settings, stamp)
    from orchestrator.channels.dry_run import dry_run_channels
    if settings.email_from:
        return dry_run_channels(settings.outbox, email_from=settings.email_from, clock=stamp)
    return dry_run_channels(settings.outbox, clock=stamp)


def build(settings: Settings | None = None, *, clock: Clock | None = None,
          channels: Callable[[Settings, Clock], Mapping[str, Any]] | None = None,
          environ: Mapping[str, str] | None = None, **options: Any) -> Application:
    """The application, from given settings or from an environment and options."""
    if settings is None:
        settings = read_settings(os.environ if environ is None else environ, **options)
    return Application(settings=settings, clock=clock or wall_clock, channels=channels)
