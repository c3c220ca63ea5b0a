"""A toy paper package for testing common.lightning end to end: linear regression on random data.

Run it like a paper: ``python -m tests.toy_task train trainer.max_steps=20``. Hooks write what the tests
inspect (state at train start, parameters at train end) into the run directory.
"""
