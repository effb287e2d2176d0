"""One module per ``quanta`` subcommand; each exposes ``register(subparsers)``."""
