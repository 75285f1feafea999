"""Small shared pieces: ID numbers, working days, money, errors."""
