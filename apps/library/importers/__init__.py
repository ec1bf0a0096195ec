"""Importers: pure parsers that turn what people paste or upload into requests."""
