"""The audit gate: the data contract of the published marts and the Great Expectations checkpoint that enforces it."""
