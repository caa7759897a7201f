"""Demo deliveries for the demo providers and the EIDR registry mirror, and the local servers that serve them."""
