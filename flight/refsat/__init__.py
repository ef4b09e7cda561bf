"""The reference satellite's own components (power and thermal monitors); its deployment file is
`flight/deployments/refsat.toml`."""
