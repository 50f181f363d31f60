"""The package's version, in the bottom layer so that any module can record it (provenance, reports)."""

__version__ = "0.1.0"
