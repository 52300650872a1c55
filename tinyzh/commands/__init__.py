"""One thin module per CLI command: options -> config -> library call."""
