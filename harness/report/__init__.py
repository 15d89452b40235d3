"""Reports. conformance.json is the source; every other report is built from it alone."""
