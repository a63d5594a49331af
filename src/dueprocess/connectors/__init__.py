"""Connectors: the plugin interface to the service's own systems, and the demo service."""
