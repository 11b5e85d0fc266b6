"""Adapters that run the one engine inside other tools."""
