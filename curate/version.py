"""The version of curate, in a module of its own so that any module may import it without
importing the package's lazy API (which would close an import cycle through ``curate.api``)."""

__version__ = "0.1.0"
