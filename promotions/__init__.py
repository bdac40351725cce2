"""Promotions: the pure pricing engine (``engine``); promotion definitions HQ manages with
their revisions, limits and stacking policy (``management``); coupon batches and coupons
(``coupons``, codes in ``codes``); and what the POS gateway calls around a sale
(``service``: active promotions, coupons presented, limits consumed, refunds)."""
