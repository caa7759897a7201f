"""Demo data generators that are not provider deliveries (the EIDR registry export)."""
