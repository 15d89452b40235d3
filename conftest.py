"""Registers the mailconform pytest plugin for runs from the repository root."""

pytest_plugins = ["harness.plugin"]
