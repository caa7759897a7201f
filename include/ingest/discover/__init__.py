"""Find the files (or API pages) a provider delivered for one data interval: transports and sources."""
