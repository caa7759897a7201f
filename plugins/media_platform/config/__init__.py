"""What the platform is configured with: provider YAML models, environment settings and shared names."""
