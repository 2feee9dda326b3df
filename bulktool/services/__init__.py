"""Use cases over explicit parts (ledger writer, registry, store, keys, clock): one module per
area. Each function takes what it uses, changes what its rule allows, and returns what the
command prints and the operation log records. No rule lives in the CLI."""
