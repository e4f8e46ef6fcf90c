"""ald_gui: the operator console of an Atomic Layer Deposition reactor."""

__version__ = "0.1.0"
