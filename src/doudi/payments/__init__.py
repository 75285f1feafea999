"""Payments: monthly payment rolls, bank files, reconciliation, price subsidies and the township reserve fund."""
