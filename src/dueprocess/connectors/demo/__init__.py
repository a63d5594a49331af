"""The demo service: a small microblog with accounts and posts, in its own database.

dueprocess reaches it only through :class:`~dueprocess.connectors.demo.connector.DemoConnector`,
exactly as it would reach a real service, so the demo exercises the real connector path.
"""
