"""HTML reports: jinja2 templates filled from the result JSON."""
