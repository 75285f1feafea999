"""The charity fund (慈善救助基金): donations, grants, the movement ledger, transparency and group insurance."""
