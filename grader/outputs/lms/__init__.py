"""What an LMS imports: Moodle's grading worksheet and feedback zip, Canvas's gradebook CSV."""
