"""Statistics accumulators: numpy kernels that turn record batches into statistics.

Every accumulator has the same interface: `add(...)` one batch, `merge(other)` another
accumulator of the same kind (the later part of the file), and `result()` plain Python values.
Merging is what lets one file be split across processes and many files across a cluster.
"""
