"""The recipe's training loop, shared by the two places a model is trained: the harness, on the
student's own instance inside the sandbox (a model that could not be captured), and the trusted
evaluation, on the model rebuilt from its captured graph. One loop, so that both give the same
numbers to the last bit. Imports torch and `grader.protocol` only.
"""
