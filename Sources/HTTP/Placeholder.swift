// HTTP module: see Sources/HTTP.
