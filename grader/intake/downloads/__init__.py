"""LMS downloads (Moodle, Canvas): which student each file of a download belongs to."""
