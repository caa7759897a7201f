"""Sources that are not files in a drop location (provider APIs): each yields pages as in-memory SourceFiles."""
