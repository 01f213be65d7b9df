"""Event-sourced multichannel communication orchestrator."""
