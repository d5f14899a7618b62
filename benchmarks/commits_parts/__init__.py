"""``commits.py``'s parts: the two sides, the data and packages, the suites, the report."""
