"""The web console: a second adapter beside the App, showing and changing the catalog through the same operations."""

from .web import PREFIX, Console

__all__ = ["PREFIX", "Console"]
