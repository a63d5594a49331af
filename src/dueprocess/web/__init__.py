"""The web layer: app assembly, sign-in, templates. Thin: handlers call services."""
