"""Bringing a county's existing caseload in (台账迁移): current recipients, their history and the check of them."""
