"""The terminal-facing API (quote, sale, refund, offline batches), the terminal client and
simulator. Sits on top: it may use every domain."""
