"""Case workflow: one application through the statutory procedure, deadlines, decisions and enrollments."""
