"""Promotions: the pure pricing engine (``engine``), and later the promotion, coupon,
campaign and segment definitions HQ manages and the terminals' quotes use."""
