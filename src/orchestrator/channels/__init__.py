"""Channels: the adapters that carry a rendered message to people.

- :mod:`~orchestrator.channels.message`: ``OutboundMessage``, ``InReplyTo``, ``SendResult``
- :mod:`~orchestrator.channels.protocol`: the ``Channel`` protocol every adapter follows
- :mod:`~orchestrator.channels.capabilities`: what each channel kind can carry
- :mod:`~orchestrator.channels.errors`: configuration / permanent / transient errors
- :mod:`~orchestrator.channels.email_message`: the RFC 5322 email every email adapter sends
- :mod:`~orchestrator.channels.dry_run`: outbox adapters (``dry_run_channels``)
- :mod:`~orchestrator.channels.memory`: in-memory twins (``memory_channels``)
"""
