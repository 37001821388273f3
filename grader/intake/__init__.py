"""What comes in: submission files (.ipynb, .py, .zip) and the batch's inputs (folders, LMS downloads).

Only file formats are handled here, on the trusted side: nothing of a submission runs.

    files.py      suffixes, junk files, ids and hashes made from files (defined once)
    submission.py one file -> code cells and prose, or InvalidSubmission with a reason
    collect.py    files, folders and LMS downloads -> one item per submission
    downloads/    Moodle's and Canvas's naming: which student a file of a download belongs to
"""
