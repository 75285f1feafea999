"""Verification (核对): agency data sources, feed ingestion, person linkage and verification reports."""
