"""The program protocol, under its older name: it lives in :mod:`doudi.policy.protocol`."""

from doudi.policy.protocol import *  # noqa: F403
