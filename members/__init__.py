"""Members, their cards and life cycle, tiers, family cards and member self-service."""
