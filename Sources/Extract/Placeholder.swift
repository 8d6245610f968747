// Extract module: see Sources/Extract.
