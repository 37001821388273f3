"""What crosses the boundary between the sandbox and the trusted side, declared once for both.

Standard library only: the harness (inside the sandbox) imports it, and so does the grader.
"""
