"""Warning rules: conditions as pure frame functions; labels, levels and deadlines in the policy pack."""
