"""HTML pages built from the result JSON: jinja2 templates, autoescaped, self-contained.

    html.py          the student's report (`grader check --html`, one per student in `grader grade`)
    summary_page.py  the class summary, OUT/index.html
    plots.py         the figures, as inline SVG
    svg.py           the small SVG chart writer the figures are drawn with
    sample.py        a made-up graded submission, to preview the report without running anything
    templates/       the pages, their one stylesheet and their small scripts
"""
