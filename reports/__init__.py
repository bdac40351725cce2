"""Chain-wide reporting and the HQ dashboard."""
