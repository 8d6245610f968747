// Spool module: see Sources/Spool.
