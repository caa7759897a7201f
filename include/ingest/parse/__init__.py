"""Turn delivered files into records, record blocks and quarantine rows: the formats, in threads or processes."""
