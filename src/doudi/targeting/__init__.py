"""Targeting accuracy: what verification changes (核对成效) and how far decisions are from the truth."""
