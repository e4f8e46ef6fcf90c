"""Bundled data: the default configuration, themes and icons (package data only)."""
