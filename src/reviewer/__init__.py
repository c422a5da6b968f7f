"""reviewer: static code review for Python backends."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("reviewer")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"
