"""The application layer: one function per use case, sharing one write tail."""
