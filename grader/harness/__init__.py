"""The code that runs INSIDE the sandbox, next to the student's code.

Everything here is untrusted by construction: the student's code shares this process and can change
any of it. It only reports observations (JSON lines); the trusted side validates them and computes
every metric and score itself. Keep it to the standard library, torch and numpy.
"""
