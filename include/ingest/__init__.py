"""Provider delivery ingestion: parse one data interval's files and load them into the warehouse raw schema."""
