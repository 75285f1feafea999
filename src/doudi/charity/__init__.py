"""Social forces: partners, needs and matching, the charity fund and social-work support."""
