"""The front ends that grade many submissions: the batch (local threads or Dask), the upload
service, the Gradescope autograder. Each grades through `grader.pipeline.grade_safely`."""
