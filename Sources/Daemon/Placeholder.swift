// Daemon module: see Sources/Daemon.
