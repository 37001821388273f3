"""What is made from results: nothing here grades or runs a submission.

    console.py     terminal tables (rich), every string from a submission made safe (terminal.py)
    report/        the HTML report and the class summary (jinja2, autoescaped)
    gradebook.py   OUT/grades.csv, one row per student
    lms/           Moodle's worksheet and feedback zip, Canvas's gradebook
    review.py      OUT/review.csv: a person's points for written answers, read back into every output
    similarity.py  similar submissions in a batch
    csv_safety.py  no spreadsheet formula from a submission in any CSV
"""
