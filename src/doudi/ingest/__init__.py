"""Batches of incoming rows (registry imports and agency feeds): lineage, idempotency and quarantine."""
