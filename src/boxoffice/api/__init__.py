"""HTTP entrypoints: one sub-application per dialect, over the same services."""
