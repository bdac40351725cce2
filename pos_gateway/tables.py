"""pos_gateway tables (Piccolo)."""
