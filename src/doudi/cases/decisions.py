"""Decisions: approvals become enrollments paid from the next month; rejections get a reasoned notice.

The flow is :func:`doudi.cases.flows.issue_decision`; its pieces live in rules.py and consistency.py. These
names stay importable from here."""

from doudi.cases.consistency import check_consistent as check_consistent
from doudi.cases.flows import issue_decision as issue_decision
from doudi.cases.rules import ONE_OFF as ONE_OFF
from doudi.cases.rules import review_cycle_months as review_cycle_months
