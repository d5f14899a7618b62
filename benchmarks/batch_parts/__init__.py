"""Parts of the batch benchmark (``benchmarks/batch.py``)."""
