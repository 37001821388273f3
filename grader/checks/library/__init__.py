"""The checks: one module per check (or per family), each a `grader.checks.base.Check` subclass.

`grader.checks.registry` finds every `Check` subclass defined here; the `order` of each sets where
it falls among a model's checks. A new module here, and its entries in the catalogue
(`check.<name>`, `idea.<name>` and its messages), is a new check.
"""
