"""reviewer: static code review for Python backends."""

__version__ = "0.1.0"
