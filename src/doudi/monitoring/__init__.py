"""Dynamic monitoring and early warning (大救助): rules, comparison runs, the warning ledger and referrals."""
