"""The audit gate: the data contract of the published marts, their delta, and the GX audit that enforces it."""
