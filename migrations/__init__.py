"""SQL migrations, applied in order by ald_gui.store.migrations (package data only)."""
