"""LMS integration: read Moodle and Canvas downloads, write what each LMS imports back.

    moodle.py      "Download all submissions" names -> participant ids; grading worksheet; feedback zip
    canvas.py      "Download Submissions" names -> user ids; gradebook CSV
    gradescope.py  the autograder zip (setup.sh, run_autograder) and results.json
    gradebook.py   OUT/grades.csv: one row per student, one column per check (latest or best)
    exports.py     the `grade --lms` outputs, written after a batch

The file formats follow ../../shared/lms-formats.md (sources there); `grader.inputs` detects and
unpacks the downloads. Nothing here imports torch: the module is as light as the CLI needs.
"""
