"""Read models: projections of the ledger, rebuildable from it."""
