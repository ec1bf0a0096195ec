"""Saved requests, collections, environments and importers. For now: the importers."""
