"""Social-work support (一对一帮扶) with 社工+家政 training referrals, and enterprise pairing (签约帮扶)."""
