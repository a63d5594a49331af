"""What the service publishes: counts, reports and open data, computed from stored records."""
