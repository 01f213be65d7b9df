"""The live adapters: each sends through its provider's own client (SendGrid and Twilio
SDKs, smtplib, Mastodon.py) or writes a print-house batch, behind the same
:class:`~orchestrator.channels.protocol.Channel` protocol as the dry-run twins.

Every adapter takes its configuration as arguments (the composition root reads the
environment), translates its provider's errors into :mod:`orchestrator.channels.errors`
at one boundary, and never puts a credential in a log line or an exception.
"""
