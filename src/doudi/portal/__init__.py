"""Citizen mobile portal (智慧核对): apply for oneself or on someone's behalf, upload, follow the case."""
