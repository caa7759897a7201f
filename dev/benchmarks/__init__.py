"""Benchmarks and their data generators: ingest throughput, EIDR matching speed and its labelled evaluation."""
