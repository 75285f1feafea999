"""Administrative divisions (GB/T 2260 codes, extended to township and village levels)."""
