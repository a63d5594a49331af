"""dueprocess: handle government demands to online services properly.

See ``docs/architecture.md`` for the flow and where each part lives.
"""

__version__ = "0.1.0"
