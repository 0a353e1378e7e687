"""The package's version, in a module of its own: `provenance` and `bundle` stamp it, and
importing it from `ecrules/__init__.py` (which imports them, through `policy`) would be a cycle."""

__version__ = "0.1.0"
