"""printers tables (Piccolo)."""
