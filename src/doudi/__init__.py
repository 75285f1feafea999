"""doudi (兜底): a social-assistance platform for civil-affairs bureaus, townships and villages."""

__version__ = "0.1.0"
