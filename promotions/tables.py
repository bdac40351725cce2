"""promotions tables (Piccolo)."""
